/** Fill the Source Control input box through the built-in git extension's API. */

import * as vscode from 'vscode';

interface GitRepository {
    rootUri: vscode.Uri;
    inputBox: { value: string };
}

interface GitApi {
    repositories: GitRepository[];
}

async function gitApi(): Promise<GitApi | undefined> {
    const extension = vscode.extensions.getExtension<{ getAPI(version: 1): GitApi }>('vscode.git');
    if (!extension) {
        return undefined;
    }
    try {
        const exports = extension.isActive ? extension.exports : await extension.activate();
        return exports.getAPI(1);
    } catch {
        return undefined;
    }
}

/** The repository that contains the folder (innermost root wins). */
export function repositoryFor<R extends { rootUri: { fsPath: string } }>(repos: readonly R[], folderPath: string): R | undefined {
    const norm = (p: string): string => p.replace(/\\/g, '/').replace(/\/+$/, '');
    const folder = norm(folderPath);
    return repos
        .filter((r) => folder === norm(r.rootUri.fsPath) || folder.startsWith(`${norm(r.rootUri.fsPath)}/`))
        .sort((a, b) => b.rootUri.fsPath.length - a.rootUri.fsPath.length)[0];
}

/** True when the message went into a repository's SCM input box. */
export async function fillScmInput(folder: vscode.Uri, message: string): Promise<boolean> {
    const api = await gitApi();
    const repo = api ? repositoryFor(api.repositories, folder.fsPath) : undefined;
    if (!repo) {
        return false;
    }
    repo.inputBox.value = message;
    await vscode.commands.executeCommand('workbench.view.scm');
    return true;
}
