// Live updates over WS /ws (docs/realtime.md) with automatic reconnect. Until the socket is open (or
// when the server has no /ws), pages keep themselves fresh by polling; the state is always visible.
// Server messages are {type, at, data}; by default a connection gets every topic but `item`, which
// needs product ids. The server closes a silent client, so each heartbeat is answered with a ping.

export type LiveState = "connecting" | "live" | "reconnecting" | "polling";
export type LiveMessage = { type: string; at?: string; data?: unknown };
type Listener = (message: LiveMessage) => void;

/** Exponential backoff with a cap: 1 s, 2 s, 4 s … 30 s, with up to 20 % jitter. */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(30_000, 1_000 * 2 ** Math.max(0, attempt));
  return Math.round(base * (1 + 0.2 * random()));
}

export function liveUrl(location: { protocol: string; host: string }, token: string): string {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/ws?token=${encodeURIComponent(token)}`;
}

type Options = {
  url: () => string | null;
  create?: (url: string) => WebSocket;
  schedule?: (fn: () => void, ms: number) => unknown;
  cancel?: (handle: unknown) => void;
};

export class LiveClient {
  state: LiveState = "connecting";
  private socket: WebSocket | null = null;
  private attempt = 0;
  private everOpened = false;
  private timer: unknown = null;
  private stopped = true;
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly stateListeners = new Set<(state: LiveState) => void>();
  private readonly productIds = new Set<number>();

  constructor(private readonly options: Options) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) (this.options.cancel ?? clearTimeout)(this.timer as number);
    this.timer = null;
    const socket = this.socket;
    this.socket = null;
    socket?.close();
  }

  on(type: string, listener: Listener): () => void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  onState(listener: (state: LiveState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /** `item` messages for these products (the server sends their current view at once). */
  watchItem(productId: number): () => void {
    this.productIds.add(productId);
    this.send({ type: "subscribe", product_ids: [productId] });
    return () => {
      this.productIds.delete(productId);
      this.send({ type: "unsubscribe", product_ids: [productId] });
    };
  }

  private send(message: object): void {
    if (this.socket?.readyState === 1) this.socket.send(JSON.stringify(message));
  }

  private setState(state: LiveState): void {
    if (state === this.state) return;
    this.state = state;
    for (const listener of this.stateListeners) listener(state);
  }

  private connect(): void {
    const url = this.options.url();
    if (this.stopped || url === null) return;
    let socket: WebSocket;
    try {
      socket = (this.options.create ?? ((u) => new WebSocket(u)))(url);
    } catch {
      this.retry();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      this.attempt = 0;
      this.everOpened = true;
      this.setState("live");
      if (this.productIds.size) this.send({ type: "subscribe", product_ids: [...this.productIds] });
    };
    socket.onmessage = (event: MessageEvent) => {
      let message: LiveMessage;
      try {
        message = JSON.parse(String(event.data)) as LiveMessage;
      } catch {
        return;
      }
      if (message.type === "heartbeat") {
        this.send({ type: "ping" });
        return;
      }
      for (const listener of this.listeners.get(message.type) ?? []) listener(message);
      for (const listener of this.listeners.get("*") ?? []) listener(message);
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.retry();
    };
  }

  private retry(): void {
    if (this.stopped) return;
    // Never opened: the server may have no /ws at all; pages poll meanwhile.
    this.setState(this.everOpened ? "reconnecting" : "polling");
    const delay = backoffDelay(this.attempt);
    this.attempt += 1;
    this.timer = (this.options.schedule ?? setTimeout)(() => {
      this.timer = null;
      this.connect();
    }, delay);
  }
}
