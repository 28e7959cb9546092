/* replyguard embed script: written in src/web/assets/embed.js (issue #24 B). */
