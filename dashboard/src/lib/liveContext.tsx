import { createContext, type ReactNode, useContext, useEffect, useRef, useState } from "react";
import { getToken } from "../api/client";
import { LiveClient, type LiveMessage, type LiveState, liveUrl } from "./live";
import { useInterval } from "./useApi";

const LIVE_SAFETY_POLL_MS = 60_000;
const LiveContext = createContext<LiveClient | null>(null);

export function LiveProvider({ children }: { children: ReactNode }) {
  const client = useRef<LiveClient | null>(null);
  if (!client.current) {
    client.current = new LiveClient({
      url: () => {
        const token = getToken();
        return token ? liveUrl(window.location, token) : null;
      },
    });
  }
  useEffect(() => {
    const live = client.current;
    live?.start();
    return () => live?.stop();
  }, []);
  return <LiveContext.Provider value={client.current}>{children}</LiveContext.Provider>;
}

function useLiveClient(): LiveClient {
  const client = useContext(LiveContext);
  if (!client) throw new Error("useLive outside LiveProvider");
  return client;
}

export function useLiveState(): LiveState {
  const client = useLiveClient();
  const [state, setState] = useState(client.state);
  useEffect(() => {
    setState(client.state);
    return client.onState(setState);
  }, [client]);
  return state;
}

/** Keeps data fresh: reloads (debounced) on the given live message types while the socket is
 * live (with a slow safety-net poll), and polls every `pollMs` while it is not. */
export function useLiveRefresh(
  types: string[],
  reload: () => void,
  pollMs = 15_000,
  onMessage?: (message: LiveMessage) => void,
): LiveState {
  const client = useLiveClient();
  const state = useLiveState();
  const saved = useRef({ reload, onMessage });
  saved.current = { reload, onMessage };
  const key = types.join(",");
  useEffect(() => {
    let timer: number | undefined;
    const offs = key.split(",").map((type) =>
      client.on(type, (message) => {
        saved.current.onMessage?.(message);
        window.clearTimeout(timer);
        timer = window.setTimeout(() => saved.current.reload(), 250);
      }),
    );
    return () => {
      window.clearTimeout(timer);
      for (const off of offs) off();
    };
  }, [client, key]);
  useInterval(reload, state === "live" ? LIVE_SAFETY_POLL_MS : pollMs);
  return state;
}
