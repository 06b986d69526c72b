import { type ReactNode, useEffect, useState } from "react";
import { useAuth } from "../lib/auth";
import { allows, ROLE_LABEL } from "../lib/roles";
import { Link, useLocation } from "../lib/router";
import type { NavItem } from "../routes";
import { ConnectionPill } from "./ConnectionPill";
import { Icon, Logo } from "./icons";

export function Layout({ nav, children }: { nav: NavItem[]; children: ReactNode }) {
  const { me, logout } = useAuth();
  const { path } = useLocation();
  const [open, setOpen] = useState(false);
  useEffect(() => {
    setOpen(false);
  }, [path]);
  useEffect(() => {
    if (!open) return;
    const close = (event: KeyboardEvent) => {
      if (event.key === "Escape") setOpen(false);
    };
    window.addEventListener("keydown", close);
    return () => window.removeEventListener("keydown", close);
  }, [open]);
  const items = nav.filter((item) => allows(me?.role, item.minimum));

  return (
    <div className={`shell ${open ? "nav-open" : ""}`}>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <aside className="sidebar">
        <div className="brand">
          <Logo />
          <span>ReSight</span>
        </div>
        <nav aria-label="Main">
          <ul>
            {items.map((item) => {
              const active = path === item.path || path.startsWith(`${item.path}/`);
              return (
                <li key={item.path}>
                  <Link to={item.path} className="nav-link" aria-current={active ? "page" : undefined}>
                    <Icon name={item.icon} />
                    {item.label}
                  </Link>
                </li>
              );
            })}
          </ul>
        </nav>
        <div className="sidebar-foot muted">Times in IST · ₹ INR</div>
      </aside>
      <div className="main-col">
        <header className="topbar">
          <button
            type="button"
            className="btn btn-ghost menu-button"
            aria-label="Menu"
            aria-expanded={open}
            onClick={() => setOpen((value) => !value)}
          >
            <Icon name="menu" />
          </button>
          <div className="topbar-spacer" />
          <ConnectionPill />
          {me ? (
            <div className="user-chip" title={`Signed in as ${me.username}`}>
              <span className="avatar" aria-hidden="true">
                {me.username.slice(0, 1).toUpperCase()}
              </span>
              <span className="user-name">{me.username}</span>
              <span className={`role role-${me.role}`}>{ROLE_LABEL[me.role]}</span>
            </div>
          ) : null}
          <button type="button" className="btn btn-ghost" onClick={logout}>
            <Icon name="logout" size={18} />
            <span className="hide-sm">Sign out</span>
          </button>
        </header>
        <main id="main" tabIndex={-1}>
          {children}
        </main>
      </div>
      <button
        type="button"
        className="scrim"
        aria-label="Close menu"
        tabIndex={-1}
        onClick={() => setOpen(false)}
      />
    </div>
  );
}
