// kernel.js: loaded by Jupyter Notebook (classic) with the kernel. GoNB answers Shift+Tab (inspect) with the
// documentation gopls gives, as Markdown only; the classic Notebook's tooltip shows text/plain only, so it would
// open empty. This passes the Markdown to the tooltip as plain text.
define(["notebook/js/tooltip"], function (tooltip) {
    "use strict";
    return {
        onload: function () {
            var proto = tooltip.Tooltip.prototype;
            if (proto._locoMarkdown) {
                return;
            }
            var show = proto._show;
            proto._show = function (reply) {
                var data = reply && reply.content && reply.content.data;
                if (data && !data["text/plain"] && typeof data["text/markdown"] === "string") {
                    data["text/plain"] = data["text/markdown"]
                        .replace(/^```[a-z]*\n?/gm, "") // code fences
                        .replace(/^---$/gm, "") // rules
                        .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1") // links: their text
                        .replace(/\n{3,}/g, "\n\n")
                        .trim();
                }
                return show.call(this, reply);
            };
            proto._locoMarkdown = true;
        }
    };
});
