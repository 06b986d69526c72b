// The one typed API client: every request the dashboard makes goes through it, typed by the
// schema generated from the server's OpenAPI document (src/api/schema.d.ts).
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type Role = Schemas["Role"];

const TOKEN_KEY = "resight.token";
let token: string | null = readToken();
const unauthorizedListeners = new Set<() => void>();

function readToken(): string | null {
  try {
    return globalThis.localStorage?.getItem(TOKEN_KEY) ?? null;
  } catch {
    return null;
  }
}

export function getToken(): string | null {
  return token;
}

export function setToken(value: string | null): void {
  token = value;
  try {
    if (value) localStorage.setItem(TOKEN_KEY, value);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    // Private browsing without storage: the session lasts until the tab closes.
  }
}

export function onUnauthorized(listener: () => void): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

const auth: Middleware = {
  onRequest({ request }) {
    if (token) request.headers.set("Authorization", `Bearer ${token}`);
    return request;
  },
  onResponse({ request, response }) {
    if (response.status === 401 && !request.url.endsWith("/auth/token")) {
      for (const listener of unauthorizedListeners) listener();
    }
    return response;
  },
};

export const api = createClient<paths>({ baseUrl: globalThis.location?.origin ?? "" });
api.use(auth);

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The `detail` of an error body as one readable sentence. */
export function describeError(error: unknown): string {
  if (error && typeof error === "object" && "detail" in error) {
    const detail = (error as { detail: unknown }).detail;
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) {
      return detail
        .map((item: { loc?: unknown[]; msg?: string }) => {
          const where = (item.loc ?? []).filter((part) => part !== "body" && part !== "query");
          return where.length ? `${where.join(".")}: ${item.msg}` : (item.msg ?? "");
        })
        .join("; ");
    }
  }
  return "The request failed.";
}

/** Awaits an openapi-fetch call and returns its data, or throws an ApiError with the detail. */
export async function unwrap<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await call;
  } catch {
    throw new ApiError(0, "Cannot reach the ReSight server.");
  }
  if (result.error !== undefined || !result.response.ok) {
    throw new ApiError(result.response.status, describeError(result.error));
  }
  return result.data as T;
}
