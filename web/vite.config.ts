/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The API serves the built page from the same origin, so the page calls relative URLs.
// During `npm run dev` these paths are forwarded to a locally running API.
const apiTarget = process.env.NBA_API_URL ?? "http://127.0.0.1:8000";
const apiPaths = [
  "/signup",
  "/login",
  "/predict",
  "/predictions",
  "/verify_random_prediction",
  "/models",
  "/players",
  "/health",
  "/ready",
];

export default defineConfig({
  plugins: [react()],
  base: "/",
  server: {
    port: 5173,
    proxy: Object.fromEntries(apiPaths.map((path) => [path, { target: apiTarget, changeOrigin: true }])),
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: true,
  },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["./src/test-setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
  },
});
