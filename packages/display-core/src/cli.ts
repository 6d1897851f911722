#!/usr/bin/env node
// qemu-display: inspect and drive a VM's console through QEMU's D-Bus display.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { UsageError, wholeNumberArg } from './cli-args.js';
import { DisplayError, QemuDisplay, type LogLevel } from './display.js';
import { pressCombo, typeText } from './input.js';
import { createProcessLogger } from './log.js';
import { framebufferToPng } from './screenshot.js';

const USAGE = `Usage: qemu-display <command> [options]

Commands:
  info                          VM name, UUID, consoles (label, type, size) and interfaces
  screenshot --output FILE.png  save the console's picture as PNG
  type TEXT                     type TEXT on the guest's keyboard (US layout; \\n is Enter)
  key COMBO                     press a key combination, e.g. ctrl+alt+delete, shift+f10, enter
  watch [--duration SECONDS]    print updates and MB received per second

Options (every command):
  --dbus-address ADDR   bus of QEMU's -display dbus (default: $DBUS_DISPLAY_ADDRESS)
  --console N           console number (default 0)
  --vm NAME|UUID        choose the VM when several share the bus
  --timeout SECONDS     how long to wait for the bus and the VM (default 10)
  --verbose             log connection progress on stderr
  -h, --help            this text

Exit codes: 0 success, 1 failure (no bus, no VM, no such console), 2 bad usage.`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'dbus-address': { type: 'string' },
      console: { type: 'string', default: '0' },
      vm: { type: 'string' },
      timeout: { type: 'string', default: '10' },
      output: { type: 'string', short: 'o' },
      duration: { type: 'string' },
      verbose: { type: 'boolean', short: 'v', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const [command, ...args] = positionals;
  if (!command) throw new UsageError('missing command');
  if (!['info', 'screenshot', 'type', 'key', 'watch'].includes(command)) throw new UsageError(`unknown command "${command}"`);
  const address = values['dbus-address'] ?? process.env.DBUS_DISPLAY_ADDRESS;
  if (!address) throw new UsageError('no bus address: give --dbus-address or set DBUS_DISPLAY_ADDRESS');
  const consoleId = wholeNumberArg(values.console, '--console');
  const timeoutMs = positiveNumber(values.timeout, '--timeout') * 1000;
  if (command === 'screenshot' && !values.output) throw new UsageError('screenshot needs --output FILE.png');
  if ((command === 'type' || command === 'key') && args.length !== 1) throw new UsageError(`${command} needs exactly one argument`);

  // Progress goes to the log (JSON lines unless stderr is a terminal, see log.ts); the
  // command's outcome is its exit code and, on failure, one plain line (main's catch).
  const logLine = createProcessLogger({ process: 'qemu-display', verbose: true });
  const display = new QemuDisplay({
    address,
    console: consoleId,
    vm: values.vm,
    log: (level: LogLevel, message: string) => {
      if (values.verbose || level === 'error') logLine(level, message);
    },
  }).start();
  try {
    await display.waitForScreen(timeoutMs);
    switch (command) {
      case 'info':
        await printInfo(display);
        break;
      case 'screenshot':
        writeFileSync(values.output as string, await framebufferToPng(display.framebuffer));
        break;
      case 'type':
        await typeText(display, args[0].replace(/\\n/g, '\n'));
        await roundTrip(display);
        break;
      case 'key':
        await pressCombo(display, args[0]);
        await roundTrip(display);
        break;
      case 'watch':
        await watch(display, values.duration ? positiveNumber(values.duration, '--duration') : Infinity);
        break;
    }
    return 0;
  } finally {
    display.close();
  }
}

async function printInfo(display: QemuDisplay): Promise<void> {
  const vm = display.vm;
  if (!vm) throw new DisplayError('NO_VM', 'the VM left');
  const lines = [`name: ${vm.name}`, `uuid: ${vm.uuid}`, `bus owner: ${vm.owner}`];
  if (vm.interfaces.length) lines.push(`vm interfaces: ${vm.interfaces.join(', ')}`);
  lines.push(`screen transport: ${display.framebuffer.transport}`);
  for (const c of await display.listConsoles()) {
    lines.push(`console ${c.id}: label "${c.label}", type ${c.type}, ${c.width}x${c.height}, head ${c.head}` +
      (c.deviceAddress ? `, device ${c.deviceAddress}` : ''));
    if (c.interfaces.length) lines.push(`  interfaces: ${c.interfaces.join(', ')}`);
  }
  lines.push(`mouse: ${display.isAbsolute ? 'absolute' : 'relative'}${display.multiTouch ? ', multi-touch' : ''}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** Waits until QEMU has processed our fire-and-forget input calls. */
async function roundTrip(display: QemuDisplay): Promise<void> {
  await display.listConsoles();
}

async function watch(display: QemuDisplay, durationS: number): Promise<void> {
  const fb = display.framebuffer;
  const stopAt = Date.now() + durationS * 1000;
  let last = { ...fb.stats };
  let stopped = false;
  const stop = () => {
    stopped = true;
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  while (!stopped && Date.now() < stopAt) {
    await new Promise((r) => setTimeout(r, Math.min(1000, Math.max(0, stopAt - Date.now()))));
    const now = { ...fb.stats };
    process.stdout.write(
      `${fb.width}x${fb.height} ${fb.transport}: ${now.messages - last.messages} updates/s, ` +
        `${((now.bytes - last.bytes) / 1e6).toFixed(2)} MB/s, ` +
        `${((now.damagedPixels - last.damagedPixels) / 1e6).toFixed(2)} Mpx/s changed\n`,
    );
    last = now;
  }
}

function positiveNumber(text: string | undefined, flag: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} takes a positive number, not "${text}"`);
  return n;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const usage = err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    process.stderr.write(`qemu-display: ${(err as Error).message}${usage ? ' (see --help)' : ''}\n`);
    process.exit(usage ? 2 : 1);
  },
);
