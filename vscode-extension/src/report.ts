/**
 * "MSP: Weekly Report" (`msp.weeklyReport`): the server's `report` command (HTML, the last 7
 * days) shown in a webview panel. The page is the server's self-contained report: no script
 * runs (enableScripts false), and the editor adds its own Content-Security-Policy in front of
 * the page's, so whatever the page says, nothing loads from anywhere and no script runs.
 */

import * as vscode from 'vscode';

import { buildArgs } from './args';
import { chooseFolder } from './folders';
import { log } from './log';
import { isRpcError, NotAvailableError, ServerApi, ServerNotRunningError } from './serverApi';
import { ServerVerb } from './wire';

export const WEEKLY_REPORT_COMMAND = 'msp.weeklyReport';
export const REPORT_VIEW_TYPE = 'msp.report';
export const REPORT_VERB: ServerVerb = 'report';
export const WEBVIEW_CSP =
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'none'; " +
    "font-src 'none'; connect-src 'none'; frame-src 'none'; form-action 'none'; base-uri 'none'";

export interface ReportAnswer {
    format: string;
    content: string;
}

export const PANEL_OPTIONS: vscode.WebviewPanelOptions & vscode.WebviewOptions = {
    enableScripts: false,
    enableForms: false,
    enableCommandUris: false,
    localResourceRoots: [],
    enableFindWidget: true,
};

type PanelFactory = (
    viewType: string,
    title: string,
    options: vscode.WebviewPanelOptions & vscode.WebviewOptions,
) => vscode.WebviewPanel;

function openWebviewPanel(viewType: string, title: string, options: vscode.WebviewPanelOptions & vscode.WebviewOptions): vscode.WebviewPanel {
    return vscode.window.createWebviewPanel(viewType, title, vscode.ViewColumn.Active, options);
}

/** The page with the editor's CSP meta first in its <head> (both policies apply). */
export function webviewHtml(page: string): string {
    const meta = `<meta http-equiv="Content-Security-Policy" content="${WEBVIEW_CSP}">`;
    const head = /<head(\s[^>]*)?>/i.exec(page);
    if (!head) {
        return `<!DOCTYPE html><html><head>${meta}</head><body>${page}</body></html>`;
    }
    const at = head.index + head[0].length;
    return page.slice(0, at) + meta + page.slice(at);
}

export class WeeklyReport implements vscode.Disposable {
    private panel: vscode.WebviewPanel | undefined;

    constructor(
        private readonly server: ServerApi,
        private readonly createPanel: PanelFactory = openWebviewPanel,
    ) {}

    register(): vscode.Disposable {
        const command = vscode.commands.registerCommand(WEEKLY_REPORT_COMMAND, () => this.show());
        return {
            dispose: () => {
                command.dispose();
                this.dispose();
            },
        };
    }

    /** Ask the server for the week's HTML report of a folder and show it. */
    async show(): Promise<void> {
        const folder = await chooseFolder('MSP: weekly report of which folder?');
        if (!folder) {
            return;
        }
        let answer: ReportAnswer;
        try {
            const args = buildArgs(folder.uri.toString(), { since: '7d', format: 'html' });
            answer = await this.server.execute<ReportAnswer>(REPORT_VERB, args);
        } catch (error) {
            showError(error);
            return;
        }
        const panel = this.panel ?? this.openPanel();
        panel.title = `MSP: Weekly Report · ${folder.name}`;
        panel.webview.html = webviewHtml(answer.content);
        panel.reveal();
    }

    private openPanel(): vscode.WebviewPanel {
        const panel = this.createPanel(REPORT_VIEW_TYPE, 'MSP: Weekly Report', PANEL_OPTIONS);
        panel.onDidDispose(() => (this.panel = undefined));
        this.panel = panel;
        return panel;
    }

    dispose(): void {
        this.panel?.dispose();
        this.panel = undefined;
    }
}

function showError(error: unknown): void {
    if (error instanceof NotAvailableError) {
        const version = error.serverVersion ? `msp-server ${error.serverVersion}` : 'this msp-server';
        void vscode.window.showWarningMessage(
            `MSP: "Weekly Report" is not available in this server version (${version} does not serve msp.server.report). Update msp-server to use it.`,
        );
        return;
    }
    if (error instanceof ServerNotRunningError) {
        void vscode.window.showErrorMessage('MSP: the language server is not running.');
        return;
    }
    const message = isRpcError(error) || error instanceof Error ? error.message : String(error);
    log.error(`msp.weeklyReport failed: ${message}`);
    void vscode.window.showErrorMessage(`MSP: Weekly Report failed: ${message}`);
}

/** Register `msp.weeklyReport` (extension.ts adds this to its subscriptions). */
export function registerWeeklyReport(server: ServerApi): vscode.Disposable {
    return new WeeklyReport(server).register();
}
