"""The reporter's pages: language choice, the offline-first form, the receipt, the status
page, and the monitors' field form. Server-rendered, no front-end framework."""
