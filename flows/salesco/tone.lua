-- Sales Co's house style: short, no em-dashes, no emoji. A rep's file
-- (reps/<rep>.lua) replaces these rules with the rep's own.
return {
  { "no_em_dashes" },
    { "formal", "ru" },                -- Russian to one person: "Вы", capitalised
  { "max_sentences", 3 },
  { "emoji", "none" },
  { "trim" },
}
