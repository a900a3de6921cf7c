import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The components as a library for a host's frontend (npm pack runs it): ES module in dist/,
// dependencies and peer dependencies left to the host's bundler; types from tsconfig.lib.json.
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    lib: { entry: "src/index.ts", formats: ["es"], fileName: "index" },
    rollupOptions: {
      external: [/^react($|\/)/, /^react-dom($|\/)/, /^recharts($|\/)/, /^@headlessui\//, /^@heroicons\//, /^@tanstack\//, /^ajv($|\/)/],
    },
  },
});
