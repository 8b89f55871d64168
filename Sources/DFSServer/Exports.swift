// Every server binary parses options the same way; re-exported so `import DFSServer` is enough.
@_exported import DFSOptions
