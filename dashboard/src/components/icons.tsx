// A few 20×20 line icons, drawn inline so the bundle needs no icon font.
const PATHS = {
  overview: "M3 10.5 10 4l7 6.5M5 9v7h4v-4h2v4h4V9",
  rankings: "M4 16V9m6 7V4m6 12v-5",
  products: "M3 6.5 10 3l7 3.5v7L10 17l-7-3.5zM3 6.5 10 10l7-3.5M10 10v7",
  whatif: "M3 15c3 0 3-10 7-10s4 10 7 10M3 17h14",
  rules: "M5 4h10M5 10h10M5 16h6M3 4h0M3 10h0M3 16h0",
  alerts: "M10 3a5 5 0 0 0-5 5v3l-1.5 3h13L15 11V8a5 5 0 0 0-5-5zM8 16a2 2 0 0 0 4 0",
  integrations: "M7 7 4 10l3 3M13 7l3 3-3 3M11 5l-2 10",
  audit: "M6 3h6l3 3v11H6zM12 3v3h3M8 10h5M8 13h5",
  users: "M7 9a3 3 0 1 0 0-6 3 3 0 0 0 0 6zM2 17c0-3 2.5-5 5-5s5 2 5 5M14 4a3 3 0 0 1 0 5M15 12c2 .5 3 2.5 3 5",
  models: "M10 3v3M10 14v3M3 10h3M14 10h3M6 6h8v8H6zM8.5 8.5h3v3h-3z",
  logout: "M8 4H4v12h4M12 6l4 4-4 4M16 10H8",
  menu: "M3 5h14M3 10h14M3 15h14",
} as const;

export type IconName = keyof typeof PATHS;

export function Icon({ name, size = 20 }: { name: IconName; size?: number }) {
  return (
    <svg
      width={size}
      height={size}
      viewBox="0 0 20 20"
      fill="none"
      stroke="currentColor"
      strokeWidth="1.6"
      strokeLinecap="round"
      strokeLinejoin="round"
      aria-hidden="true"
      focusable="false"
    >
      <path d={PATHS[name]} />
    </svg>
  );
}

export function Logo() {
  return (
    <svg width="28" height="28" viewBox="0 0 28 28" aria-hidden="true" focusable="false">
      <rect width="28" height="28" rx="8" fill="url(#logo-g)" />
      <path d="M7 18.5 11.5 13l3.5 3 6-7.5" fill="none" stroke="#fff" strokeWidth="2.2"
        strokeLinecap="round" strokeLinejoin="round" />
      <circle cx="21" cy="8.5" r="1.8" fill="#fff" />
      <defs>
        <linearGradient id="logo-g" x1="0" y1="0" x2="28" y2="28">
          <stop offset="0" stopColor="#4f46e5" />
          <stop offset="1" stopColor="#0ea5a4" />
        </linearGradient>
      </defs>
    </svg>
  );
}
