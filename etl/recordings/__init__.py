"""Cloud recording files on disk, and what was said in them as rows (``zoom-etl recordings download``).

    layout.py     where a file goes: account / host / date / meeting uuid / safe name (README "Recordings")
    plan.py       which files: zoom.recording_files of synced recordings, filtered, minus complete ones
    tables.py     the file-fed tables (``schemas/files/*.toml``): inventory, transcript segments, chat
    parse.py      TRANSCRIPT and CC (WebVTT) and CHAT files as rows; pure
    rows.py       those rows into zoom.transcript_segments / zoom.chat_messages; unreadable files rejected
    download.py   the run: free-disk check, fresh URLs per meeting, concurrent resumable downloads,
                  checksums, atomic renames, the inventory, transcripts and chat loaded

The network is reached only through the account's ``ZoomClient`` (``etl.http.files`` streams a file).
"""
