export * from './qnum.js';
export * from './x11-keysym.js';
export * from './scancode.js';
export * from './combo.js';
export * from './locks.js';
export * from './mouse-buttons.js';
