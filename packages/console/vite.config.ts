import { defineConfig } from 'vite';

// Static files for the registry to serve at `/`: hashed assets under /assets (cached for a year),
// index.html (never cached). No CDN: React and uPlot are bundled here.
export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    // No inline <script> or data: URLs: the Content-Security-Policy allows 'self' scripts only.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    chunkSizeWarningLimit: 600,
    // The build runs inside `npm run build` on a busy machine: its timing report is noise there.
    rolldownOptions: { checks: { pluginTimings: false } },
  },
  server: {
    // `npm run dev -w @contender/console` next to a running registry on :8081.
    proxy: { '/api': 'http://127.0.0.1:8081', '/console': 'http://127.0.0.1:8081' },
  },
});
