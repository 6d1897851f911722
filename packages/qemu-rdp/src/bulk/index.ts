// Bulk data compression of RDP output (MS-RDPBCGR 3.1.8, MS-RDPEGDI 3.1.8): one file per compressor.
export * from './mppc.js';
export * from './xcrush.js';
