"""The simulated marketplace's parameters, as data: categories, marketplaces, calendar, daily cycle.

Nothing here is code; the world (world.py) and the demand model (demand.py) read these tables.
Prices are in whole rupees; rates are fractions. docs/simulator.md explains each number's role.
"""

from __future__ import annotations

from typing import Final, TypedDict


class Category(TypedDict):
    path: str  # "Top > Leaf", as stored in Product.category
    code: str  # SKU prefix
    price_range: tuple[int, int]  # selling price at list time, ₹ (log-uniform in between)
    discount_range: tuple[float, float]  # MRP discount at list time
    elasticity: float  # d log(conversion) / d log(price / category reference price); negative
    ctr: float  # view -> click at rating 4.0, discount 0
    add_to_cart: float  # click -> add to cart at the reference price
    conversion: float  # add to cart -> order at the reference price
    return_rate: float  # share of delivered orders returned (before the marketplace multiplier)
    cancel_multiplier: float  # scales the marketplace's cancel rate (gadgets are cancelled more)
    multi_unit: float  # probability that an order is for two units
    appeal: float  # median views per day of a product here (before marketplace scale)
    stock: int  # median opening stock, units
    share: tuple[float, float, float]  # weight of this category on amazon, myntra, meesho
    brands: tuple[str, ...]
    nouns: tuple[str, ...]  # title words
    adjectives: tuple[str, ...]


class Marketplace(TypedDict):
    platform: str  # resight.catalog.models.Platform value
    store_name: str
    seller_id: str
    traffic: float  # views multiplier
    price_level: float  # selling prices relative to the category range
    cancel_rate: float  # share of orders cancelled before dispatch
    return_multiplier: float  # scales the category's return rate
    rto_rate: float  # return-to-origin (refused cash-on-delivery parcels), added to returns


MARKETPLACES: Final[tuple[Marketplace, ...]] = (
    {
        "platform": "amazon",
        "store_name": "Demo Amazon.in store",
        "seller_id": "A2DEMO7SELLER",
        "traffic": 1.3,
        "price_level": 1.0,
        "cancel_rate": 0.03,
        "return_multiplier": 0.8,
        "rto_rate": 0.02,
    },
    {
        "platform": "myntra",
        "store_name": "Demo Myntra store",
        "seller_id": "MYN-DEMO-4412",
        "traffic": 1.0,
        "price_level": 1.05,
        "cancel_rate": 0.05,
        "return_multiplier": 1.25,
        "rto_rate": 0.03,
    },
    {
        "platform": "meesho",
        "store_name": "Demo Meesho store",
        "seller_id": "MSH-DEMO-90817",
        "traffic": 0.9,
        "price_level": 0.75,
        "cancel_rate": 0.08,
        "return_multiplier": 1.0,
        "rto_rate": 0.16,
    },
)

_FASHION_ADJ = ("Printed", "Solid", "Embroidered", "Floral", "Striped", "Cotton", "Rayon", "Silk Blend")

CATEGORIES: Final[tuple[Category, ...]] = (
    {
        "path": "Ethnic Wear > Kurtas",
        "code": "KUR",
        "price_range": (299, 2999),
        "discount_range": (0.30, 0.70),
        "elasticity": -1.6,
        "ctr": 0.14,
        "add_to_cart": 0.364,
        "conversion": 0.437,
        "return_rate": 0.20,
        "cancel_multiplier": 1.1,
        "multi_unit": 0.08,
        "appeal": 4.7,
        "stock": 40,
        "share": (0.8, 1.6, 1.8),
        "brands": ("Libas", "Biba", "W", "Aurelia", "Anouk", "Rangriti", "Jaipur Kurti", "Sangria"),
        "nouns": ("Kurta", "A-Line Kurta", "Straight Kurta", "Anarkali Kurta"),
        "adjectives": _FASHION_ADJ,
    },
    {
        "path": "Ethnic Wear > Sarees",
        "code": "SAR",
        "price_range": (399, 7999),
        "discount_range": (0.35, 0.75),
        "elasticity": -1.3,
        "ctr": 0.12,
        "add_to_cart": 0.325,
        "conversion": 0.402,
        "return_rate": 0.16,
        "cancel_multiplier": 1.0,
        "multi_unit": 0.04,
        "appeal": 4.0,
        "stock": 25,
        "share": (0.6, 1.0, 1.6),
        "brands": ("Mitera", "Saree Mall", "Satrani", "Kalini", "Sangam Prints", "Anouk"),
        "nouns": ("Saree", "Banarasi Saree", "Kanjeevaram Saree", "Georgette Saree"),
        "adjectives": ("Woven", "Printed", "Zari", "Embellished", "Bandhani", "Silk"),
    },
    {
        "path": "Ethnic Wear > Kurta Sets",
        "code": "KST",
        "price_range": (599, 4999),
        "discount_range": (0.30, 0.70),
        "elasticity": -1.5,
        "ctr": 0.13,
        "add_to_cart": 0.338,
        "conversion": 0.414,
        "return_rate": 0.22,
        "cancel_multiplier": 1.1,
        "multi_unit": 0.04,
        "appeal": 3.7,
        "stock": 30,
        "share": (0.6, 1.4, 1.2),
        "brands": ("Libas", "Biba", "Indo Era", "Anouk", "KALINI", "Vishudh"),
        "nouns": ("Kurta with Palazzos", "Kurta Set with Dupatta", "Kurta and Trousers"),
        "adjectives": _FASHION_ADJ,
    },
    {
        "path": "Men's Clothing > T-Shirts",
        "code": "TSH",
        "price_range": (199, 1999),
        "discount_range": (0.25, 0.70),
        "elasticity": -1.8,
        "ctr": 0.15,
        "add_to_cart": 0.39,
        "conversion": 0.46,
        "return_rate": 0.15,
        "cancel_multiplier": 0.9,
        "multi_unit": 0.15,
        "appeal": 5.3,
        "stock": 60,
        "share": (1.2, 1.6, 1.4),
        "brands": ("Roadster", "HRX", "Bewakoof", "The Souled Store", "Allen Solly", "U.S. Polo Assn."),
        "nouns": ("T-Shirt", "Polo T-Shirt", "Oversized T-Shirt", "Henley T-Shirt"),
        "adjectives": ("Round Neck", "Graphic Print", "Solid", "Striped", "Slim Fit", "Pure Cotton"),
    },
    {
        "path": "Men's Clothing > Shirts",
        "code": "SHT",
        "price_range": (399, 2999),
        "discount_range": (0.20, 0.65),
        "elasticity": -1.5,
        "ctr": 0.13,
        "add_to_cart": 0.351,
        "conversion": 0.425,
        "return_rate": 0.17,
        "cancel_multiplier": 0.9,
        "multi_unit": 0.08,
        "appeal": 4.0,
        "stock": 45,
        "share": (1.0, 1.4, 1.0),
        "brands": ("Peter England", "Louis Philippe", "Van Heusen", "Roadster", "Highlander"),
        "nouns": ("Casual Shirt", "Formal Shirt", "Linen Shirt", "Checked Shirt"),
        "adjectives": ("Slim Fit", "Regular Fit", "Pure Cotton", "Checked", "Solid"),
    },
    {
        "path": "Men's Clothing > Jeans",
        "code": "JNS",
        "price_range": (599, 3499),
        "discount_range": (0.25, 0.65),
        "elasticity": -1.4,
        "ctr": 0.12,
        "add_to_cart": 0.338,
        "conversion": 0.414,
        "return_rate": 0.19,
        "cancel_multiplier": 1.1,
        "multi_unit": 0.05,
        "appeal": 3.7,
        "stock": 40,
        "share": (1.0, 1.4, 0.8),
        "brands": ("Levi's", "Roadster", "Spykar", "Flying Machine", "Wrangler", "Pepe Jeans"),
        "nouns": ("Jeans", "Slim Fit Jeans", "Straight Fit Jeans", "Tapered Jeans"),
        "adjectives": ("Stretchable", "Mid-Rise", "Light Fade", "Clean Look", "Dark Wash"),
    },
    {
        "path": "Women's Western Wear > Dresses",
        "code": "DRS",
        "price_range": (399, 3999),
        "discount_range": (0.30, 0.75),
        "elasticity": -1.5,
        "ctr": 0.14,
        "add_to_cart": 0.338,
        "conversion": 0.391,
        "return_rate": 0.24,
        "cancel_multiplier": 1.2,
        "multi_unit": 0.03,
        "appeal": 4.0,
        "stock": 30,
        "share": (0.6, 1.6, 1.2),
        "brands": ("SASSAFRAS", "Tokyo Talkies", "Berrylush", "ONLY", "Harpa", "Athena"),
        "nouns": ("A-Line Dress", "Maxi Dress", "Bodycon Dress", "Shirt Dress"),
        "adjectives": ("Floral", "Solid", "Tiered", "Smocked", "Puff Sleeve"),
    },
    {
        "path": "Footwear > Sports Shoes",
        "code": "SHO",
        "price_range": (799, 6999),
        "discount_range": (0.20, 0.60),
        "elasticity": -1.4,
        "ctr": 0.12,
        "add_to_cart": 0.312,
        "conversion": 0.414,
        "return_rate": 0.14,
        "cancel_multiplier": 1.1,
        "multi_unit": 0.02,
        "appeal": 4.3,
        "stock": 35,
        "share": (1.2, 1.2, 0.8),
        "brands": ("Campus", "Sparx", "ASIAN", "Puma", "Bata", "Red Tape"),
        "nouns": ("Running Shoes", "Walking Shoes", "Training Shoes", "Sneakers"),
        "adjectives": ("Lightweight", "Mesh", "Cushioned", "Lace-Up", "Slip-On"),
    },
    {
        "path": "Footwear > Sandals & Slippers",
        "code": "SND",
        "price_range": (199, 1499),
        "discount_range": (0.20, 0.60),
        "elasticity": -1.7,
        "ctr": 0.14,
        "add_to_cart": 0.364,
        "conversion": 0.46,
        "return_rate": 0.12,
        "cancel_multiplier": 0.8,
        "multi_unit": 0.06,
        "appeal": 4.0,
        "stock": 50,
        "share": (1.0, 0.8, 1.4),
        "brands": ("Bata", "Relaxo", "Paragon", "Sparx", "Crocs", "Bahamas"),
        "nouns": ("Flip-Flops", "Sliders", "Sandals", "Kolhapuri Chappals"),
        "adjectives": ("Comfortable", "Anti-Skid", "Casual", "Leather", "Printed"),
    },
    {
        "path": "Electronics > Earbuds",
        "code": "EAR",
        "price_range": (799, 9999),
        "discount_range": (0.30, 0.75),
        "elasticity": -1.2,
        "ctr": 0.16,
        "add_to_cart": 0.312,
        "conversion": 0.483,
        "return_rate": 0.07,
        "cancel_multiplier": 1.3,
        "multi_unit": 0.03,
        "appeal": 6.7,
        "stock": 60,
        "share": (2.0, 0.3, 0.6),
        "brands": ("boAt", "Noise", "realme", "OnePlus", "JBL", "Boult"),
        "nouns": ("TWS Earbuds", "Wireless Earbuds", "ANC Earbuds"),
        "adjectives": ("Bluetooth 5.3", "50H Playback", "Low Latency", "ENx Mic", "Fast Charging"),
    },
    {
        "path": "Electronics > Smartwatches",
        "code": "SWT",
        "price_range": (1299, 14999),
        "discount_range": (0.30, 0.80),
        "elasticity": -1.1,
        "ctr": 0.14,
        "add_to_cart": 0.286,
        "conversion": 0.46,
        "return_rate": 0.08,
        "cancel_multiplier": 1.4,
        "multi_unit": 0.02,
        "appeal": 5.3,
        "stock": 40,
        "share": (1.8, 0.4, 0.4),
        "brands": ("Noise", "boAt", "Fire-Boltt", "Amazfit", "Titan", "realme"),
        "nouns": ("Smartwatch", "Smart Watch with Calling", "Fitness Watch"),
        "adjectives": ('1.96" AMOLED', "Bluetooth Calling", "SpO2", "100+ Sports Modes"),
    },
    {
        "path": "Electronics > Phone Cases",
        "code": "CAS",
        "price_range": (99, 999),
        "discount_range": (0.40, 0.85),
        "elasticity": -2.0,
        "ctr": 0.12,
        "add_to_cart": 0.39,
        "conversion": 0.517,
        "return_rate": 0.05,
        "cancel_multiplier": 0.7,
        "multi_unit": 0.10,
        "appeal": 3.3,
        "stock": 80,
        "share": (1.6, 0.2, 1.4),
        "brands": ("Spigen", "Elago", "TheGiftKart", "Amazon Basics", "Kapaver", "Ringke"),
        "nouns": ("Back Cover", "Silicone Case", "Flip Cover", "Armour Case"),
        "adjectives": ("Shockproof", "Transparent", "Matte", "Camera Protection", "Slim"),
    },
    {
        "path": "Electronics > Power Banks",
        "code": "PWB",
        "price_range": (599, 3999),
        "discount_range": (0.30, 0.65),
        "elasticity": -1.3,
        "ctr": 0.14,
        "add_to_cart": 0.325,
        "conversion": 0.483,
        "return_rate": 0.06,
        "cancel_multiplier": 1.1,
        "multi_unit": 0.04,
        "appeal": 4.0,
        "stock": 50,
        "share": (1.6, 0.1, 0.6),
        "brands": ("Mi", "Ambrane", "URBN", "Portronics", "Anker", "Stuffcool"),
        "nouns": ("Power Bank", "Magnetic Power Bank", "Slim Power Bank"),
        "adjectives": ("10000mAh", "20000mAh", "22.5W Fast Charging", "Type-C PD"),
    },
    {
        "path": "Beauty > Skincare",
        "code": "SKN",
        "price_range": (149, 1499),
        "discount_range": (0.05, 0.35),
        "elasticity": -1.1,
        "ctr": 0.14,
        "add_to_cart": 0.39,
        "conversion": 0.517,
        "return_rate": 0.03,
        "cancel_multiplier": 0.7,
        "multi_unit": 0.18,
        "appeal": 4.3,
        "stock": 70,
        "share": (1.4, 0.9, 0.8),
        "brands": ("Mamaearth", "Minimalist", "The Derma Co", "Plum", "Himalaya", "Dot & Key"),
        "nouns": ("Face Serum", "Sunscreen SPF 50", "Moisturiser", "Face Wash"),
        "adjectives": ("Vitamin C", "Niacinamide 10%", "Hyaluronic", "Oil-Free", "Ubtan"),
    },
    {
        "path": "Beauty > Makeup",
        "code": "MKP",
        "price_range": (99, 1999),
        "discount_range": (0.05, 0.40),
        "elasticity": -1.2,
        "ctr": 0.13,
        "add_to_cart": 0.364,
        "conversion": 0.483,
        "return_rate": 0.04,
        "cancel_multiplier": 0.8,
        "multi_unit": 0.15,
        "appeal": 3.7,
        "stock": 60,
        "share": (1.0, 1.0, 1.0),
        "brands": ("Lakmé", "Maybelline", "SUGAR", "Swiss Beauty", "Nykaa Cosmetics", "Insight"),
        "nouns": ("Matte Lipstick", "Kajal", "Compact Powder", "Liquid Foundation"),
        "adjectives": ("Long-Lasting", "Smudge-Proof", "Transfer-Proof", "Waterproof"),
    },
    {
        "path": "Home & Kitchen > Cookware",
        "code": "CKW",
        "price_range": (299, 4999),
        "discount_range": (0.15, 0.55),
        "elasticity": -1.0,
        "ctr": 0.11,
        "add_to_cart": 0.312,
        "conversion": 0.46,
        "return_rate": 0.06,
        "cancel_multiplier": 1.0,
        "multi_unit": 0.04,
        "appeal": 3.3,
        "stock": 35,
        "share": (1.6, 0.3, 1.0),
        "brands": ("Prestige", "Pigeon", "Hawkins", "Milton", "Vinod", "Wonderchef"),
        "nouns": ("Pressure Cooker", "Non-Stick Kadai", "Tawa", "Cookware Set"),
        "adjectives": ("Induction Base", "Hard Anodised", "Stainless Steel", "3 Litre"),
    },
    {
        "path": "Home & Kitchen > Bedsheets",
        "code": "BED",
        "price_range": (299, 2999),
        "discount_range": (0.30, 0.70),
        "elasticity": -1.3,
        "ctr": 0.12,
        "add_to_cart": 0.325,
        "conversion": 0.437,
        "return_rate": 0.08,
        "cancel_multiplier": 0.9,
        "multi_unit": 0.08,
        "appeal": 3.3,
        "stock": 40,
        "share": (1.2, 0.8, 1.4),
        "brands": ("Bombay Dyeing", "Spaces", "Story@Home", "Jaipur Fabric", "Raymond Home"),
        "nouns": ("Double Bedsheet", "King Size Bedsheet", "Fitted Bedsheet"),
        "adjectives": ("144 TC Cotton", "Jaipuri Print", "Floral", "Geometric"),
    },
    {
        "path": "Home & Kitchen > Home Decor",
        "code": "DEC",
        "price_range": (149, 2999),
        "discount_range": (0.25, 0.70),
        "elasticity": -1.4,
        "ctr": 0.12,
        "add_to_cart": 0.312,
        "conversion": 0.414,
        "return_rate": 0.07,
        "cancel_multiplier": 0.9,
        "multi_unit": 0.10,
        "appeal": 3.0,
        "stock": 35,
        "share": (1.0, 0.6, 1.4),
        "brands": ("Home Centre", "Ekam", "Craftvatika", "eCraftIndia", "Chumbak"),
        "nouns": ("Diya Set", "Wall Hanging", "Torans", "Decorative Lights", "Showpiece"),
        "adjectives": ("Handcrafted", "Brass", "Terracotta", "Festive", "LED"),
    },
)

# The demand model's shared coefficients (docs/simulator.md, "Demand").
MODEL: Final[dict[str, float]] = {
    "appeal_sigma": 0.9,  # log-normal spread of latent appeal around the category median
    "trend_sigma": 0.12,  # log change of appeal per 30 days, per product
    "rating_mean": 4.0,
    "rating_sd": 0.35,
    "rating_effect": 0.8,  # log multiplier on traffic and conversion per rating star above 4.0
    "discount_effect": 1.2,  # log multiplier on click-through per unit of discount (0..1)
    "out_of_stock_traffic": 0.35,  # an out-of-stock listing keeps a third of its views
    "max_probability": 0.9,  # cap on any funnel probability
    "price_change_per_day": 0.08,  # chance a product's price is changed on a given IST day
    "festive_markdown_share": 0.5,  # share of products marked down when their sale starts
    "restock_days_min": 1.0,
    "restock_days_max": 8.0,
    "restock_cover_days": 30.0,  # a restock brings stock to this many days of expected demand
    "opening_out_of_stock": 0.04,  # share of products out of stock at the start
}

# Price levels a seller tries (relative to the product's list price): the price experiments.
PRICE_LEVELS: Final[tuple[float, ...]] = (0.80, 0.85, 0.90, 0.95, 1.0, 1.0, 1.05, 1.10, 1.15, 1.25)
FESTIVE_MARKDOWNS: Final[tuple[float, ...]] = (0.75, 0.80, 0.85, 0.90)
