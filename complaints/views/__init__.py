"""Views of the complaints app, split by audience:

- ``staff``: abuse staff pages (dashboard, queue, detail pages, actions);
- ``corrections``: staff merging, moving and splitting mailings;
- ``ingest_http``: the token-protected HTTP endpoint mail systems POST to;
- ``public``: the complaint form and status page for complainants.
"""
