"""Messages to people: the DC technicians and approvers, by email and/or webhook.

    message.py   Message (subject, body, facts, a stable key) and sandboxed rendering
    smtp.py      one email through smtplib (STARTTLS/SMTPS, auth only over TLS)
    webhook.py   one JSON POST (plain or Slack/Mattermost-shaped)
    channels.py  which channels are configured, and delivery through one of them

Each channel retries its own server with tenacity and classifies the failure: a refusal
that retrying cannot fix (``DeliveryRefused``), a reply lost after the server may have
taken the message (``DeliveryInDoubt``: never re-sent), or a plain ``NotifyError`` that a
later try may fix. Exactly-once per workflow step is the task layer's job
(``cephflow.tasks.notify.send_once``): this package knows nothing of workflows.
"""
