"""Small files in exactly the Last.fm HetRec 2k format, shared by the loader and notebook tests."""

import zipfile
from dataclasses import replace

from coursekit.lastfm import REGISTRY, data_folder

# ------------------------------------------------------------ the HetRec files
# user_artists.dat: (3, 2) appears twice (30 + 5 are summed) and the last line is cut off.
USER_ARTISTS = (b"userID\tartistID\tweight\n"
                b"2\t1\t100\n2\t2\t50\n3\t2\t30\n3\t2\t5\n4\t5\t7\n4\t1\t1\n5\t3\t12\n"
                b"5\t1")
# artists.dat: UTF-8 names, Windows line ends, a picture URL that is empty and one that is absent.
ARTISTS = ("id\tname\turl\tpictureURL\r\n"
           "1\tBeyoncé\thttp://www.last.fm/music/Beyonc%C3%A9\thttp://img.example/1.jpg\r\n"
           "2\tSigur Rós\thttp://www.last.fm/music/Sigur+R%C3%B3s\thttp://img.example/2.jpg\r\n"
           "3\tRöyksopp\thttp://www.last.fm/music/R%C3%B6yksopp\t\r\n"
           "5\tMötley Crüe\thttp://www.last.fm/music/M%C3%B6tley+Cr%C3%BCe\r\n"
           ).encode("utf-8")
# tags.dat: one line in Latin-1 (the legacy bytes of the real file), the rest UTF-8.
TAGS = (b"tagID\ttagValue\n1\tpost-rock\n2\ticelandic\n" + "3\tmúsica\n".encode("latin-1")
        + b"4\trnb\n5\tseen live\n")
TAGGED = (b"userID\tartistID\ttagID\tday\tmonth\tyear\n"
          b"2\t2\t1\t1\t5\t2009\n"
          b"3\t2\t1\t1\t6\t2009\n"
          b"3\t2\t2\t1\t6\t2009\n"
          b"2\t1\t4\t1\t7\t2008\n"
          b"2\t1\t5\t1\t7\t2008\n"
          b"4\t1\t4\t1\t8\t2010\n"
          b"4\t5\t3\t1\t8\t2010\n"
          b"2\t9\t1\t1\t1\t2009\n"     # artist 9 is not in artists.dat
          b"2\t3\t99\t1\t1\t2009\n")   # tag 99 is not in tags.dat
FILES = {"user_artists.dat": USER_ARTISTS, "artists.dat": ARTISTS, "tags.dat": TAGS,
         "user_taggedartists.dat": TAGGED}
ROWS = {"user_artists.dat": 7, "artists.dat": 4, "tags.dat": 5, "user_taggedartists.dat": 9}


def small_spec(rows=ROWS, **changes):
    """The registry's HetRec spec with the row counts of small files (default: those above)."""
    official = REGISTRY["lastfm-2k"]
    tables = tuple(replace(t, rows=rows[t.filename]) for t in official.tables)
    return replace(official, **{"tables": tables, "counts": {"users": 4, "items": 4}, **changes})


def write_unpacked(files=FILES):
    folder = data_folder() / "hetrec2011-lastfm-2k"
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


def make_zip(path, files=FILES, prefix="hetrec2011-lastfm-2k/"):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(prefix + "readme.txt", "hetrec2011-lastfm-2k\n")
        for name, data in files.items():
            zf.writestr(prefix + name, data)
    return path
