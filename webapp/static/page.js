() => {
    // Gradio's Sketchpad starts, and restarts after "clear", with no tool selected ("select the
    // draw tool to start"). Select the brush whenever that hint appears, so every canvas on the
    // page is ready for a pen or a finger at once.
    const selectBrush = () => {
        for (const pad of document.querySelectorAll(".digit-canvas")) {
            if (!pad.innerText.includes("select the draw tool")) continue;
            const brush = pad.querySelector('button[aria-label="Brush"]');
            if (brush) brush.click();
        }
    };
    new MutationObserver(selectBrush).observe(document.body, { childList: true, subtree: true });
    selectBrush();

    // Gradio's canvas uploads its background, layer and composite each time the page asks it for its
    // value: for the event's inputs, for the event's target, and on every change of any event's loading
    // status (Gradio 6's ImageEditor get_data), about 21 PNG uploads per stroke where at most three are
    // new (bench/results/page_strokes.json). An upload of exactly the files of one sent in the last
    // REUSE_MS gets that upload's answer (the server's paths to the same files) without being sent
    // again. The server keeps uploaded files longer: page.script() puts REUSE_MS at a quarter of that
    // lifetime or 30 s, whichever is shorter (webapp/uploads.py). Any other request, and any upload with
    // a query string (a tracked upload) or a file over REUSE_MAX_BYTES, goes out as it is; an answer from
    // another server (another upload folder) ends the reuse of what the page kept.
    const REUSE_MS = __UPLOAD_REUSE_MS__;
    const REUSE_MAX_BYTES = 512 * 1024; // A canvas PNG is 2-50 kB; a camera photo is not held in memory.
    const REUSE_KEPT = 8;
    const UPLOAD_PATH = "/gradio_api/upload";
    const recent = []; // { files: [{ name, type, bytes }], sentAt, answer: Promise<{ text, type } | null>, folder }
    const send = window.fetch.bind(window);

    const filesOfUpload = async (resource, options) => {
        if (!options || String(options.method).toUpperCase() !== "POST" || !(options.body instanceof FormData)) {
            return null;
        }
        const url = new URL(resource instanceof Request ? resource.url : String(resource), window.location.href);
        if (url.origin !== window.location.origin || !url.pathname.endsWith(UPLOAD_PATH) || url.search) return null;
        const entries = [...options.body.entries()];
        const plainFiles = entries.every(([key, value]) => key === "files" && value instanceof Blob);
        if (!entries.length || !plainFiles || entries.some(([, file]) => file.size > REUSE_MAX_BYTES)) return null;
        return Promise.all(
            entries.map(async ([, file]) => ({
                name: file.name || "",
                type: file.type,
                bytes: new Uint8Array(await file.arrayBuffer()),
            }))
        );
    };
    // Gradio answers an upload with the files' paths, <upload folder>/<hash>/<name>: the folder names the server.
    const uploadFolder = (text) => {
        try {
            const paths = JSON.parse(text);
            if (!Array.isArray(paths) || !paths.length) return null;
            const folders = new Set(paths.map((path) => String(path).split(/[\\/]/).slice(0, -2).join("/")));
            return folders.size === 1 ? [...folders][0] : null;
        } catch {
            return null;
        }
    };
    const sameBytes = (a, b) => a.length === b.length && a.every((byte, index) => byte === b[index]);
    const sameFiles = (a, b) =>
        a.length === b.length &&
        a.every((file, index) => file.name === b[index].name && file.type === b[index].type && sameBytes(file.bytes, b[index].bytes));

    window.fetch = async (resource, options) => {
        const files = await filesOfUpload(resource, options);
        if (!files) return send(resource, options);
        const now = Date.now();
        while (recent.length && now - recent[0].sentAt > REUSE_MS) recent.shift();
        const earlier = recent.find((entry) => sameFiles(entry.files, files));
        const answer = earlier ? await earlier.answer : null;
        if (answer) return new Response(answer.text, { status: 200, headers: { "Content-Type": answer.type } });

        let settle;
        const entry = { files, sentAt: now, answer: new Promise((resolve) => (settle = resolve)) };
        recent.push(entry); // Before the answer: an identical upload meanwhile waits for this one.
        if (recent.length > REUSE_KEPT) recent.shift();
        const forget = () => {
            const index = recent.indexOf(entry);
            if (index >= 0) recent.splice(index, 1);
            settle(null);
        };
        let response;
        try {
            response = await send(resource, options);
        } catch (error) {
            forget();
            throw error;
        }
        if (!response.ok) {
            forget();
            return response;
        }
        const text = await response
            .clone()
            .text()
            .catch(() => null);
        const folder = text === null ? null : uploadFolder(text);
        if (folder === null) {
            forget();
            return response;
        }
        // Another server answered (a replica that took over from one that stopped): the files the other one
        // kept are outside this one's upload folder, and it would refuse their paths.
        for (let index = recent.length - 1; index >= 0; index--) {
            if (recent[index].folder !== undefined && recent[index].folder !== folder) recent.splice(index, 1);
        }
        entry.folder = folder;
        settle({ text, type: response.headers.get("Content-Type") || "application/json" });
        return response;
    };
}
