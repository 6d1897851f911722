// Bulk data compression of RDP output (MS-RDPBCGR 3.1.8, MS-RDPEGDI 3.1.8) and of the graphics
// pipeline (ZGFX, MS-RDPEGFX 3.1.9.1): one file per compressor.
export * from './mppc.js';
export * from './xcrush.js';
export * from './zgfx.js';
