// What keeps a server's resident memory down: the placeholder drawn without an image
// library; and the memory log's report.
import { describe, expect, it } from 'vitest';
import { memoryReport, startMemoryLog } from '../src/memory-log.js';
import { PLACEHOLDER_HEIGHT, PLACEHOLDER_WIDTH, renderPlaceholder } from '../src/placeholder.js';

describe('renderPlaceholder', () => {
  it('draws light text on the dark background, B,G,R,X', async () => {
    const px = await renderPlaceholder(['The virtual machine is not running', 'No D-Bus display bus at unix:path=/x yet.', 'ünïcode → ?']);
    expect(px.length).toBe(PLACEHOLDER_WIDTH * PLACEHOLDER_HEIGHT * 4);
    expect([...px.subarray(0, 4)]).toEqual([0x2a, 0x23, 0x1d, 0]);
    let light = 0;
    for (let i = 0; i < px.length; i += 4) if (px[i + 2] > 0x80) light++;
    expect(light).toBeGreaterThan(2000);
    // Text is centred: nothing drawn in the corners' quarter rows.
    const row = (y: number) => px.subarray(y * PLACEHOLDER_WIDTH * 4, (y + 1) * PLACEHOLDER_WIDTH * 4);
    expect(row(10).every((v, i) => v === [0x2a, 0x23, 0x1d, 0][i % 4])).toBe(true);
  });
});

describe('memory log', () => {
  it('reports rss, heap and V8 spaces, and logs only when VDI_MEMORY_LOG_SECONDS is set', () => {
    expect(memoryReport()).toMatch(/^memory MiB: rss [\d.]+, heap [\d.]+\/[\d.]+, external [\d.]+, arrayBuffers [\d.]+; V8 spaces used\/size: .*old [\d.]+\/[\d.]+/);
    const lines: string[] = [];
    startMemoryLog((_level, msg) => lines.push(msg), {})();
    const stop = startMemoryLog((_level, msg) => lines.push(msg), { VDI_MEMORY_LOG_SECONDS: '0.01' });
    return new Promise<void>((resolve) =>
      setTimeout(() => {
        stop();
        expect(lines.length).toBeGreaterThan(0);
        resolve();
      }, 100),
    );
  });
});
