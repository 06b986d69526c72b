import { createContext, type ReactNode, useCallback, useContext, useEffect, useState } from "react";
import { api, getToken, onUnauthorized, type Schemas, setToken, unwrap } from "../api/client";

type Me = Schemas["Me"];
type AuthState = {
  me: Me | null;
  ready: boolean;
  login: (username: string, password: string) => Promise<void>;
  logout: () => void;
};

const AuthContext = createContext<AuthState | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const [me, setMe] = useState<Me | null>(null);
  const [ready, setReady] = useState(false);

  const logout = useCallback(() => {
    setToken(null);
    setMe(null);
  }, []);

  useEffect(() => onUnauthorized(logout), [logout]);

  useEffect(() => {
    if (!getToken()) {
      setReady(true);
      return;
    }
    unwrap(api.GET("/auth/me"))
      .then(setMe, () => setToken(null))
      .finally(() => setReady(true));
  }, []);

  const login = useCallback(async (username: string, password: string) => {
    const token = await unwrap(
      api.POST("/auth/token", {
        body: { username, password, scope: "" },
        bodySerializer: (body) => new URLSearchParams(body as Record<string, string>),
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
      }),
    );
    setToken(token.access_token);
    try {
      setMe(await unwrap(api.GET("/auth/me")));
    } catch (error) {
      setToken(null);
      throw error;
    }
  }, []);

  return <AuthContext.Provider value={{ me, ready, login, logout }}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthState {
  const value = useContext(AuthContext);
  if (!value) throw new Error("useAuth outside AuthProvider");
  return value;
}
