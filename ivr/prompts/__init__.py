"""The prompt pipeline: what the hotline says, in German, French, Italian and English.

- `catalogue`: prompts/catalogue.toml, FLOW_PROMPTS (the ids the flow plays), LANGUAGE_MENU_DIGITS
- `build.build_prompts`: espeak-ng or recording -> 8 kHz .sln in `<sounds_dir>/<lang>/winet/`
- `check.check_catalogue`: every problem by id and language, for `ivr prompts check` and start-up
- `recordings.import_recording`: a recording replaces a prompt's voice, effective at once
- `notice.compose_notice`: the cost-consequence notice from the tables' facts, media and text
- `phrase.render_phrase`: a one-off text (a customer's name) as a cached sound, off the loop
- `installed.media_uri`: `sound:winet/<id>`, played in the channel's language
"""
