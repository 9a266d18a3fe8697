"""Grievances filed through the web form, offline devices and field intake:
POST /api/v1/submissions, idempotent on `submission_id`.

A repeat answers 200 with the first answer's body. A receipt code the client made is never
echoed. One the server made is stored only as a hash; it is kept in memory for an hour so
that a client whose first answer was lost gets it on retry; after that, or from another
process, a repeat answers the same body without `receipt_code`.
"""
