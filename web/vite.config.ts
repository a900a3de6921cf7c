/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The console: built into the Python package, which serves it at `/` (`auterity-ai-step serve`).
export default defineConfig({
  plugins: [react()],
  base: "./",
  build: {
    outDir: "../auterity_ai_step/console_dist",
    emptyOutDir: true,
    chunkSizeWarningLimit: 1200,
    reportCompressedSize: false,
  },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["./src/test/setup.ts"],
    // The CI machine is shared: one worker thread.
    pool: "threads",
    poolOptions: { threads: { singleThread: true } },
    include: ["src/**/*.test.{ts,tsx}"],
  },
});
