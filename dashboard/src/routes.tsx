import type { ReactNode } from "react";
import type { Role } from "./api/client";
import type { IconName } from "./components/icons";
import { AlertsPage } from "./pages/Alerts";
import { AuditLogPage } from "./pages/AuditLog";
import { IntegrationsPage } from "./pages/Integrations";
import { ModelsPage } from "./pages/Models";
import { OverviewPage } from "./pages/Overview";
import { ProductPage } from "./pages/Product";
import { ProductsPage } from "./pages/Products";
import { RankingsPage } from "./pages/Rankings";
import { RulesPage } from "./pages/Rules";
import { UsersPage } from "./pages/Users";
import { WhatIfPage } from "./pages/WhatIf";

export type NavItem = { path: string; label: string; icon: IconName; minimum: Role };

// Only pages whose endpoints the server has are listed; the typed client would not compile
// against an endpoint the generated schema lacks.
export const NAV: NavItem[] = [
  { path: "/overview", label: "Overview", icon: "overview", minimum: "viewer" },
  { path: "/rankings", label: "Rankings", icon: "rankings", minimum: "viewer" },
  { path: "/products", label: "Products", icon: "products", minimum: "viewer" },
  { path: "/whatif", label: "What-if", icon: "whatif", minimum: "merchandiser" },
  { path: "/rules", label: "Rules", icon: "rules", minimum: "viewer" },
  { path: "/alerts", label: "Alerts", icon: "alerts", minimum: "viewer" },
  { path: "/models", label: "Models", icon: "models", minimum: "viewer" },
  { path: "/integrations", label: "Integrations", icon: "integrations", minimum: "admin" },
  { path: "/audit", label: "Audit log", icon: "audit", minimum: "viewer" },
  { path: "/users", label: "Users", icon: "users", minimum: "admin" },
];

export type Route = {
  pattern: string;
  minimum: Role;
  render: (params: Record<string, string>) => ReactNode;
};

export const ROUTES: Route[] = [
  { pattern: "/overview", minimum: "viewer", render: () => <OverviewPage /> },
  { pattern: "/alerts", minimum: "viewer", render: () => <AlertsPage /> },
  { pattern: "/rankings", minimum: "viewer", render: () => <RankingsPage /> },
  { pattern: "/whatif", minimum: "merchandiser", render: () => <WhatIfPage /> },
  { pattern: "/rules", minimum: "viewer", render: () => <RulesPage /> },
  { pattern: "/products", minimum: "viewer", render: () => <ProductsPage /> },
  { pattern: "/products/:id", minimum: "viewer", render: (p) => <ProductPage id={Number(p.id)} /> },
  { pattern: "/models", minimum: "viewer", render: () => <ModelsPage /> },
  { pattern: "/integrations", minimum: "admin", render: () => <IntegrationsPage /> },
  { pattern: "/audit", minimum: "viewer", render: () => <AuditLogPage /> },
  { pattern: "/users", minimum: "admin", render: () => <UsersPage /> },
];

export const HOME = "/overview";
