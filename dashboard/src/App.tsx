import { useEffect } from "react";
import { Layout } from "./components/Layout";
import { Empty, Spinner } from "./components/ui";
import { AuthProvider, useAuth } from "./lib/auth";
import { LiveProvider } from "./lib/liveContext";
import { allows } from "./lib/roles";
import { Link, matchPath, navigate, useLocation } from "./lib/router";
import { LoginPage } from "./pages/Login";
import { HOME, NAV, ROUTES } from "./routes";

function Routed() {
  const { me, ready } = useAuth();
  const { path } = useLocation();

  useEffect(() => {
    if (me && (path === "/" || path === "/login")) navigate(HOME, true);
  }, [me, path]);

  if (!ready) return <Spinner label="Starting ReSight" />;
  if (!me) return <LoginPage />;

  let page = null;
  for (const route of ROUTES) {
    const params = matchPath(route.pattern, path);
    if (params) {
      page = allows(me.role, route.minimum) ? (
        route.render(params)
      ) : (
        <Empty>Your role ({me.role}) cannot open this page.</Empty>
      );
      break;
    }
  }
  return (
    <LiveProvider>
      <Layout nav={NAV}>
        {page ?? (
          <Empty>
            Nothing here. <Link to={HOME}>Go to the dashboard</Link>.
          </Empty>
        )}
      </Layout>
    </LiveProvider>
  );
}

export function App() {
  return (
    <AuthProvider>
      <Routed />
    </AuthProvider>
  );
}
