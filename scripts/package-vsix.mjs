// `npm run package [-- --target linux-x64]` in vscode-extension/: the .vsix.
//
//   no --target   msp-vscode.vsix, universal: no bundled libraries (the server comes from
//                 msp.server.command or an interpreter that has msp-server installed)
//   --target T    msp-vscode-T.vsix for one platform (linux-x64, linux-arm64, darwin-x64,
//                 darwin-arm64, win32-x64): bundled/libs holds msp_server and its runtime
//                 dependencies for that platform and Python 3.11-3.14 (scripts/bundle_libs.py)
//
// bundled/libs exists only while a platform package is made, and the universal package is made
// with an ignore file that leaves it out, so it never carries another platform's native wheels
// (nor deletes the libraries of a platform package being made at the same time).
// Python for the bundling: $MSP_BUNDLE_PYTHON, else the repository's .venv, else python3; it
// needs `build` and `uv` (the test extra has both).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ext = path.join(repo, 'vscode-extension');
const libs = path.join(ext, 'bundled', 'libs');

function run(command, args, cwd = ext) {
    const done = spawnSync(command, args, { cwd, stdio: 'inherit', shell: process.platform === 'win32' });
    if (done.status !== 0) {
        console.error(`package: ${command} ${args.join(' ')} failed (${done.status ?? done.signal})`);
        process.exit(1);
    }
}

function targetArg(argv) {
    const i = argv.indexOf('--target');
    if (i >= 0) {
        return argv[i + 1];
    }
    return argv.find((a) => a.startsWith('--target='))?.slice('--target='.length);
}

function bundlePython() {
    if (process.env.MSP_BUNDLE_PYTHON) {
        return process.env.MSP_BUNDLE_PYTHON;
    }
    const venv = path.join(repo, '.venv', process.platform === 'win32' ? 'Scripts/python.exe' : 'bin/python');
    return existsSync(venv) ? venv : 'python3';
}

/** .vscodeignore without its bundled/libs lines (vsce lets any `!` pattern win, whatever the order). */
function universalIgnoreFile() {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'msp-vsix-')), '.vscodeignore');
    const lines = readFileSync(path.join(ext, '.vscodeignore'), 'utf8').split(/\r?\n/);
    writeFileSync(file, lines.filter((line) => !line.includes('bundled/libs')).join('\n'));
    return file;
}

const target = targetArg(process.argv.slice(2));
const npx = process.platform === 'win32' ? 'npx.cmd' : 'npx';
const vsce = ['vsce', 'package', '--no-dependencies', '--allow-missing-repository'];
run(npx, ['tsc', '-p', '.', '--noEmit']);
if (!target) {
    const ignore = universalIgnoreFile();
    try {
        run(npx, [...vsce, '--ignoreFile', ignore, '--out', 'msp-vscode.vsix']);
    } finally {
        rmSync(path.dirname(ignore), { recursive: true, force: true });
    }
} else {
    try {
        run(bundlePython(), [path.join(repo, 'scripts', 'bundle_libs.py'), '--target', target, '--out', libs], repo);
        run(npx, [...vsce, '--target', target, '--out', `msp-vscode-${target}.vsix`]);
    } finally {
        rmSync(libs, { recursive: true, force: true });
    }
}
