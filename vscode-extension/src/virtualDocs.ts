/**
 * Read-only documents for payloads and exports: the `msp:` scheme
 * (`msp:/payload/pay-1a2b3c4d.cypher`, `msp:/context/shop-ai.md`). Nothing to save, no prompt
 * on close; the editor title offers Copy and Save As (package.json menus, `resourceScheme == msp`).
 */

import * as vscode from 'vscode';

import { payloadExtension, payloadsDocument, payloadText } from './payloads';
import { Payload } from './wire';

export const SCHEME = 'msp';

/** A name safe in a URI path: letters, digits, dot, dash, underscore. */
export function safeName(name: string): string {
    return name.replace(/[^\w.-]+/g, '-').replace(/^-+|-+$/g, '') || 'document';
}

export class VirtualDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
    private readonly contents = new Map<string, string>();
    private readonly emitter = new vscode.EventEmitter<vscode.Uri>();
    readonly onDidChange = this.emitter.event;

    register(): vscode.Disposable[] {
        return [vscode.workspace.registerTextDocumentContentProvider(SCHEME, this), this];
    }

    provideTextDocumentContent(uri: vscode.Uri): string {
        return this.contents.get(uri.path) ?? '';
    }

    /** `msp:/<folder>/<name>` holding `content` (a document already open shows the new text). */
    put(folder: string, name: string, content: string): vscode.Uri {
        const uri = vscode.Uri.from({ scheme: SCHEME, path: `/${safeName(folder)}/${safeName(name)}` });
        const changed = this.contents.has(uri.path) && this.contents.get(uri.path) !== content;
        this.contents.set(uri.path, content);
        if (changed) {
            this.emitter.fire(uri);
        }
        return uri;
    }

    /** The text of an `msp:` document (Copy, Save As). */
    text(uri: vscode.Uri): string | undefined {
        return this.contents.get(uri.path);
    }

    async show(uri: vscode.Uri): Promise<void> {
        const doc = await vscode.workspace.openTextDocument(uri);
        await vscode.window.showTextDocument(doc, { preview: false });
    }

    /** One payload as its own text (`msp:/payload/pay-….cypher`); several as one Markdown list. */
    async showPayloads(payloads: Payload[]): Promise<void> {
        if (!payloads.length) {
            return;
        }
        const uri =
            payloads.length === 1
                ? this.put('payload', `${payloads[0].id}.${payloadExtension(payloads[0])}`, payloadText(payloads[0]))
                : this.put('payloads', `${payloads.map((p) => p.id).join('+')}.md`, payloadsDocument(payloads));
        await this.show(uri);
    }

    dispose(): void {
        this.emitter.dispose();
        this.contents.clear();
    }
}

/** The active editor's `msp:` document URI, or the one a title-bar action was given. */
export function mspUri(arg: unknown): vscode.Uri | undefined {
    const uri = arg instanceof vscode.Uri ? arg : vscode.window.activeTextEditor?.document.uri;
    return uri?.scheme === SCHEME ? uri : undefined;
}

/** Copy: the whole document to the clipboard. */
export async function copyDocument(docs: VirtualDocuments, arg: unknown): Promise<void> {
    const uri = mspUri(arg);
    const text = uri && docs.text(uri);
    if (text === undefined) {
        return;
    }
    await vscode.env.clipboard.writeText(text);
    vscode.window.setStatusBarMessage('$(check) MSP: copied to the clipboard', 4000);
}

/** Save As: a real file wherever the user chooses (the first folder by default). */
export async function saveDocumentAs(docs: VirtualDocuments, arg: unknown): Promise<void> {
    const uri = mspUri(arg);
    const text = uri && docs.text(uri);
    if (!uri || text === undefined) {
        return;
    }
    const name = uri.path.split('/').pop() ?? 'msp.txt';
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const target = await vscode.window.showSaveDialog({
        defaultUri: folder ? vscode.Uri.joinPath(folder, name) : undefined,
        title: 'MSP: save a copy as',
    });
    if (!target) {
        return;
    }
    await vscode.workspace.fs.writeFile(target, new TextEncoder().encode(text));
    vscode.window.setStatusBarMessage(`$(check) MSP: saved ${target.path.split('/').pop() ?? ''}`, 4000);
}
