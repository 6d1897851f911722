// sharp (libvips) only when an image is actually encoded — a screenshot, a Tight JPEG or a
// TightPNG rectangle. Loading it maps libvips and its dependencies, ~27 MiB of resident
// memory that a server serving only ZRLE/Hextile (qemu-vnc) or RDP bitmaps never needs.
import type Sharp from 'sharp';

export type SharpModule = typeof Sharp;

let loading: Promise<SharpModule> | undefined;

/**
 * sharp, loaded on first use. Its operation cache is off (every frame is a new input, so
 * cached results are never reused, yet kept up to 50 MB) and each operation runs on one
 * libvips thread (callers already encode several rectangles at once on libuv's pool).
 */
export function loadSharp(): Promise<SharpModule> {
  loading ??= import('sharp').then(({ default: sharp }) => {
    sharp.cache(false);
    sharp.concurrency(1);
    return sharp;
  });
  return loading;
}
