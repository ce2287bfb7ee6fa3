// Node 20 has the WebAssembly global, but TypeScript declares it only in the DOM/worker libs.
declare namespace WebAssembly {
  interface Module {}
  interface Instance { readonly exports: Record<string, unknown> }
  function compile(bytes: Uint8Array): Promise<Module>;
  function instantiate(module: Module, imports?: object): Promise<Instance>;
}
