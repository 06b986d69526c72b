import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

// The API runs on the FastAPI app; `npm run dev` proxies everything but /app/ to it.
const api = process.env.RESIGHT_API ?? "http://127.0.0.1:8000";

export default defineConfig({
  base: "/app/",
  plugins: [react()],
  build: {
    outDir: "../src/resight/static",
    emptyOutDir: true,
    target: "es2022",
    reportCompressedSize: true,
  },
  server: {
    proxy: {
      "^/(?!app/|app$|@|src/|node_modules/).*": { target: api, changeOrigin: false, ws: true },
    },
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
