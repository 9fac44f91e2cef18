-- How Sparkle Car Care sounds: short, friendly, no em-dashes, light on emoji.
return {
  { "no_em_dashes" },
  { "max_sentences", 4 },
  { "emoji", 2 },
  { "trim" },
}
