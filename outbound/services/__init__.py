"""Writes for outbound control, split by sub-domain:

- ``drain``: submission records from the Redis stream into Submission rows,
  held batches and login alerts;
- ``holds``: staff release and rejection of held batches, the queue commands;
- ``linking``: submissions to the mailings complaints and bounces found, and the
  real recipient count they give a mailing;
- ``maillog``: submissions from an ISP's existing Postfix logs.
"""
