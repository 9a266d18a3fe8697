"""The reporter's pages: language choice, the offline-first form, the receipt, the status
page, and the monitors' field form. Server-rendered (Jinja2), no front-end framework.

Without JavaScript the form is a plain POST /report that files the case and shows the
receipt. With it, static/page.js writes the report to IndexedDB first (with a receipt code
made on the device by crypto.getRandomValues), shows the receipt at once, and sends it
through POST /api/v1/submissions now, on the `online` event, on the next visit, and from
the service worker's Background Sync. Every sender works under one Web Lock, the server
is idempotent on `submission_id`, and a report leaves the device once the server has it,
so it is filed exactly once. The service worker (/sw.js) keeps the form and its two files
for use with no network.
"""
