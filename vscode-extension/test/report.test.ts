import { mock } from './vscodeMock';

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, it } from 'node:test';

import { NotAvailableError, ServerApi, ServerNotRunningError } from '../src/serverApi';
import { ServerState } from '../src/statusModel';
import { ServerVerb } from '../src/wire';
import {
    PANEL_OPTIONS,
    REPORT_VERB,
    REPORT_VIEW_TYPE,
    WEBVIEW_CSP,
    WEEKLY_REPORT_COMMAND,
    WeeklyReport,
    webviewHtml,
} from '../src/report';

const PAGE =
    '<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8><title>MSP report</title></head>' +
    '<body><h1>MSP report · 23 – 29 Nov 2026</h1></body></html>\n';

class FakeServer implements ServerApi {
    state: ServerState = 'running';
    version = '0.1.0';
    serverLaunch: ServerApi['serverLaunch'] = undefined;
    calls: { verb: ServerVerb; args: Record<string, unknown> }[] = [];
    failure: unknown = undefined;

    isAvailable(): boolean {
        return true;
    }
    async execute<T>(verb: ServerVerb, args: Record<string, unknown>): Promise<T> {
        this.calls.push({ verb, args });
        if (this.failure) {
            throw this.failure;
        }
        return { format: 'html', content: PAGE } as T;
    }
    async restart(): Promise<void> {}
    launchCwd(): string {
        return '/';
    }
    async notifyTrustChanged(): Promise<void> {}
}

interface FakePanel {
    viewType: string;
    title: string;
    options: unknown;
    webview: { html: string };
    revealed: number;
    disposed: boolean;
    onDispose?: () => void;
}

function panels(): { made: FakePanel[]; factory: ConstructorParameters<typeof WeeklyReport>[1] } {
    const made: FakePanel[] = [];
    const factory = (viewType: string, title: string, options: unknown) => {
        const panel: FakePanel = { viewType, title, options, webview: { html: '' }, revealed: 0, disposed: false };
        made.push(panel);
        return {
            get title() {
                return panel.title;
            },
            set title(value: string) {
                panel.title = value;
            },
            webview: panel.webview,
            reveal: () => void panel.revealed++,
            onDidDispose: (listener: () => void) => {
                panel.onDispose = listener;
                return { dispose: () => undefined };
            },
            dispose: () => {
                panel.disposed = true;
                panel.onDispose?.();
            },
        } as never;
    };
    return { made, factory };
}

describe('MSP: Weekly Report', () => {
    beforeEach(() => {
        mock.reset();
        mock.setFolders('/work/shop');
    });

    it('runs the report command (html, 7 days) and shows it in a webview without scripts', async () => {
        const server = new FakeServer();
        const { made, factory } = panels();
        await new WeeklyReport(server, factory).show();
        assert.deepEqual(server.calls, [
            { verb: 'report', args: { folderUri: 'file:///work/shop', since: '7d', format: 'html' } },
        ]);
        assert.equal(made.length, 1);
        const [panel] = made;
        assert.equal(panel.viewType, REPORT_VIEW_TYPE);
        assert.equal(panel.title, 'MSP: Weekly Report · shop');
        assert.deepEqual(panel.options, PANEL_OPTIONS);
        assert.equal((panel.options as { enableScripts: boolean }).enableScripts, false);
        assert.equal((panel.options as { enableCommandUris: boolean }).enableCommandUris, false);
        assert.match(panel.webview.html, /^<!DOCTYPE html>\n<html lang=en><head><meta http-equiv="Content-Security-Policy"/);
        assert.ok(panel.webview.html.includes('<h1>MSP report · 23 – 29 Nov 2026</h1>'));
        assert.equal(panel.revealed, 1);
    });

    it('reuses its panel, and opens a new one once the user closed it', async () => {
        const server = new FakeServer();
        const { made, factory } = panels();
        const report = new WeeklyReport(server, factory);
        await report.show();
        await report.show();
        assert.equal(made.length, 1);
        assert.equal(made[0].revealed, 2);
        made[0].onDispose?.();
        await report.show();
        assert.equal(made.length, 2);
    });

    it("the editor's CSP forbids scripts and every external load, in front of the page's", () => {
        for (const rule of ["default-src 'none'", "script-src 'none'", "connect-src 'none'", "frame-src 'none'"]) {
            assert.ok(WEBVIEW_CSP.includes(rule), rule);
        }
        const html = webviewHtml(PAGE);
        assert.ok(html.indexOf('Content-Security-Policy') < html.indexOf('<title>'));
        const bare = webviewHtml('<p>no head</p>');
        assert.match(bare, /^<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy"/);
    });

    it('says when the server does not serve the report, and opens nothing', async () => {
        const server = new FakeServer();
        server.failure = new NotAvailableError(REPORT_VERB, '0.0.9');
        const { made, factory } = panels();
        await new WeeklyReport(server, factory).show();
        assert.equal(made.length, 0);
        assert.equal(mock.shown[0].kind, 'warning');
        assert.match(mock.shown[0].message, /not available .*msp-server 0\.0\.9/);
    });

    it("shows the server's error message", async () => {
        const server = new FakeServer();
        server.failure = Object.assign(new Error('since: 2026-12-10 is after until (2026-12-01)'), { code: -32602 });
        const { made, factory } = panels();
        await new WeeklyReport(server, factory).show();
        assert.equal(made.length, 0);
        assert.equal(mock.shown[0].kind, 'error');
        assert.match(mock.shown[0].message, /since: 2026-12-10 is after until/);
        server.failure = new ServerNotRunningError();
        await new WeeklyReport(server, factory).show();
        assert.match(mock.shown[1].message, /not running/);
    });

    it('does nothing without a workspace folder', async () => {
        mock.folders = [];
        const server = new FakeServer();
        await new WeeklyReport(server, panels().factory).show();
        assert.equal(server.calls.length, 0);
    });

    it('is contributed in package.json as "MSP: Weekly Report"', () => {
        const manifest = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
            contributes: { commands: { command: string; title: string; category?: string }[] };
        };
        const entry = manifest.contributes.commands.find((c) => c.command === WEEKLY_REPORT_COMMAND);
        assert.ok(entry, 'msp.weeklyReport is contributed');
        assert.equal(`${entry.category}: ${entry.title}`, 'MSP: Weekly Report');
    });
});
