import { defineConfig } from "vite";

export default defineConfig({
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 1024 },
  server: { proxy: { "/v1": "http://127.0.0.1:8000", "/auth": "http://127.0.0.1:8000" } },
  test: { environment: "jsdom", globals: true, setupFiles: ["src/test-setup.ts"] },
});
