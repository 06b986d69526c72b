import { describe, expect, it } from "vitest";
import { backoffDelay, LiveClient, type LiveState, liveUrl } from "./live";

class FakeSocket {
  static instances: FakeSocket[] = [];
  readyState = 0;
  sent: string[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: string }) => void) | null = null;
  onclose: (() => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.instances.push(this);
  }
  send(data: string) {
    this.sent.push(data);
  }
  close() {
    this.readyState = 3;
    this.onclose?.();
  }
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  receive(message: object) {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
  drop() {
    this.readyState = 3;
    this.onclose?.();
  }
}

function setup() {
  FakeSocket.instances = [];
  const timers: { fn: () => void; ms: number }[] = [];
  const states: LiveState[] = [];
  const client = new LiveClient({
    url: () => "ws://host/ws?token=t",
    create: (url) => new FakeSocket(url) as unknown as WebSocket,
    schedule: (fn, ms) => timers.push({ fn, ms }),
    cancel: () => undefined,
  });
  client.onState((state) => states.push(state));
  return { client, timers, states };
}

describe("backoff", () => {
  it("doubles from one second up to a 30 s cap, with bounded jitter", () => {
    expect([0, 1, 2, 3, 10].map((n) => backoffDelay(n, () => 0))).toEqual([
      1000, 2000, 4000, 8000, 30000,
    ]);
    expect(backoffDelay(0, () => 0.999)).toBeLessThanOrEqual(1200);
  });
  it("builds the socket address from the page's own origin", () => {
    expect(liveUrl({ protocol: "https:", host: "a.in" }, "x y")).toBe("wss://a.in/ws?token=x%20y");
    expect(liveUrl({ protocol: "http:", host: "127.0.0.1:8000" }, "t")).toBe(
      "ws://127.0.0.1:8000/ws?token=t",
    );
  });
});

describe("LiveClient", () => {
  it("polls while the server has no socket, then goes live and delivers typed messages", () => {
    const { client, timers, states } = setup();
    client.start();
    FakeSocket.instances[0]!.drop();
    expect(states).toEqual(["polling"]);
    expect(timers[0]!.ms).toBeGreaterThanOrEqual(1000);

    timers[0]!.fn();
    const socket = FakeSocket.instances[1]!;
    const seen: unknown[] = [];
    client.on("kpis", (message) => seen.push(message.data));
    const unwatch = client.watchItem(7);
    socket.open();
    expect(states).toEqual(["polling", "live"]);
    expect(socket.sent).toContain(JSON.stringify({ type: "subscribe", product_ids: [7] }));

    socket.receive({ type: "kpis", data: { gmv: "1200.00" } });
    socket.receive({ type: "ranking", data: {} });
    socket.receive({ type: "heartbeat", data: { interval_seconds: 15 } });
    expect(seen).toEqual([{ gmv: "1200.00" }]);
    expect(socket.sent).toContain(JSON.stringify({ type: "ping" }));
    unwatch();
    expect(socket.sent).toContain(JSON.stringify({ type: "unsubscribe", product_ids: [7] }));
  });

  it("reconnects after a drop with growing delays, resetting once connected", () => {
    const { client, timers, states } = setup();
    client.start();
    FakeSocket.instances[0]!.open();
    FakeSocket.instances[0]!.drop();
    expect(states).toEqual(["live", "reconnecting"]);
    timers[0]!.fn();
    FakeSocket.instances[1]!.drop();
    expect(timers[1]!.ms).toBeGreaterThan(timers[0]!.ms);
    timers[1]!.fn();
    FakeSocket.instances[2]!.open();
    expect(client.state).toBe("live");
  });

  it("stops cleanly without reconnecting", () => {
    const { client, timers } = setup();
    client.start();
    FakeSocket.instances[0]!.open();
    client.stop();
    expect(timers).toHaveLength(0);
  });
});
