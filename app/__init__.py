"""Grievance Desk: grievance intake and case management for supply-chain workers."""
