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
}
