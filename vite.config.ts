import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The built site is static files: index.html, the bundle, v86's wasm and public/images/.
export default defineConfig({
  base: './',
  plugins: [react()],
  worker: { format: 'es' },
  server: { port: 5173, strictPort: false },
  build: { target: 'es2022', chunkSizeWarningLimit: 2048 },
});
