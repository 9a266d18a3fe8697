"""The voice line (Twilio Voice): a keypad call flow that files a recorded grievance."""
