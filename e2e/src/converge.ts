import { setTimeout as sleep } from 'node:timers/promises';
import { compareImages, expectSameImage, type Image } from './images.js';

/**
 * Waits until `actual()` shows what `expected()` (the guest's QMP screendump) shows,
 * pixel for pixel. The picture reaches a client a display refresh or two after the guest
 * drew it, so a few mismatches are expected before the first match; on timeout the last
 * pair is reported (and saved) by expectSameImage.
 */
export async function expectPictureConverges(
  actual: () => Promise<Image> | Image,
  expected: () => Promise<Image>,
  name: string,
  options: { timeoutMs?: number; tolerance?: number } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  for (;;) {
    const want = await expected();
    const got = await actual();
    if (compareImages(got, want, { tolerance: options.tolerance }).equal) return;
    if (Date.now() >= deadline) {
      await expectSameImage(got, want, name, { tolerance: options.tolerance });
      return;
    }
    await sleep(200);
  }
}
