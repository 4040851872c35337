"""The parts of the CDN log analysis job (`../cdn_log_analysis.py`): its tables' DDL and its
Python function, each a module as in PyFlink's write-up of the job."""
