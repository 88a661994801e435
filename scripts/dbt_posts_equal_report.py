"""Checks that dbt_instagram_business's `instagram_business__posts`, built on igsync's
warehouse views, equals `igsync report --format json` post by post: every value the report
has is in the model's column for that post's family, every value the report lacks is NULL.

    python3 scripts/dbt_posts_equal_report.py POSTGRES_URL MODEL_SCHEMA   (IGSYNC: the binary)
"""

import json
import os
import subprocess
import sys


def psql(db, query):
    out = subprocess.run(
        ["psql", db, "-At", "-F", "\t", "-c", query],
        capture_output=True, text=True, check=True,
    ).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def family(post):
    product = (post.get("product_type") or "").lower()
    media = (post.get("media_type") or "").lower()
    if product.startswith("stor"):
        return "story"
    if product.startswith("reel"):
        return "reel"
    return "carousel_album" if media.startswith("carousel") else "video_photo"


def column(fam, metric):
    """The package's column for a report metric of a post of `fam`, or None."""
    if fam == "story":
        return f"story_{metric}" if metric in ("reach", "shares", "views", "replies") else None
    if metric == "likes":
        return "like_count"
    if metric == "comments":
        return "comment_count"
    if metric == "total_interactions":
        return "reel_total_interactions" if fam == "reel" else f"{fam}_engagement"
    if metric == "saves":
        return None if fam == "reel" else f"{fam}_saved"
    if metric in ("reach", "shares", "views"):
        return f"{fam}_{metric}"
    return None


def main():
    db, schema = sys.argv[1], sys.argv[2]
    igsync = os.environ.get("IGSYNC", "igsync")
    rows = {}
    for (doc,) in psql(db, f"SELECT row_to_json(p) FROM {schema}.instagram_business__posts p"):
        row = json.loads(doc)
        rows[row["post_id"]] = row
    env = dict(os.environ, IGSYNC_DATABASE_URL=db)
    posts = equal = missing = 0
    for (ig_user_id,) in psql(db, "SELECT ig_user_id FROM accounts ORDER BY id"):
        report = json.loads(subprocess.run(
            [igsync, "report", "--account", ig_user_id, "--format", "json", "--days", "731"],
            env=env, capture_output=True, text=True, check=True,
        ).stdout)
        for post in report["posts"]:
            post_id = int(post["ig_media_id"])
            row = rows.get(post_id)
            if row is None:
                sys.exit(f"post {post_id} is not in instagram_business__posts")
            fam = family(post)
            for metric, value in post["metrics"].items():
                col = column(fam, metric)
                if col is None:
                    continue
                if value is None:
                    if row[col] is not None:
                        sys.exit(f"post {post_id} {metric}: missing in igsync, {row[col]} in {col}")
                    missing += 1
                elif row[col] != round(value):
                    sys.exit(f"post {post_id} {metric}: igsync {value}, {col} {row[col]}")
                else:
                    equal += 1
            posts += 1
    if posts == 0:
        sys.exit("no posts to compare: sync the database first")
    print(f"instagram_business__posts: {len(rows)} rows; {posts} report posts compared, "
          f"{equal} values equal, {missing} missing in both")


if __name__ == "__main__":
    main()
