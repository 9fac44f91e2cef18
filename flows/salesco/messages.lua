-- What Sales Co's assistant says. Each rep says some of it in their own
-- words (reps/<rep>.lua); what a rep does not override is said as here.
return {
  en = {
    greeting = "Hello, and thank you for writing to {tenant}.",
    ask_need = "What would you like to solve with our help?",
    ask_budget = "What budget do you have in mind for this, roughly?",
    ask_authority = "Will you be the one deciding on this, or is someone else involved?",
    ask_timeline = "When would you like to have it running?",
    ask_email = "Great, a short call would be the best next step. What email should I send the invitation to?",
    bad_email = "That email address does not look right, could you check it?",
    pick_time = "These times are free for a 30 minute Zoom call ({zone}). Which one suits you?",
    all_busy = "There is no free time in the next few days, I am sorry. The next free time is {next}, would that work?",
    all_busy_long = "There is no free time in the next weeks, I am sorry. I will ask my colleague to write to you.",
    calendar_down = "I cannot see the calendar right now, so I cannot promise a time. Could you write again in a few minutes?",
    slot_gone = "That time was just taken, I am sorry. Shall I show you the free times again?",
    booking_failed = "I could not book the call just now. Please tap the time again in a minute.",
    booked = "Done, the call is booked for {when}. Here is the Zoom link: {link}",
    answer = "{answer}",
    question_noted = "Good question, I will make sure it is answered on the call.",
    not_now = "Thank you, that helps a lot. I will send you a few materials, and we can talk when the timing is right.",
    escalated = "Of course, I am passing this to my colleague now, they will contact you shortly.",
    follow_up_1 = "Hello again, just checking in. Is this still something you are looking at?",
    follow_up_2 = "I will not take more of your time. If you would like to talk later, just write here.",
    -- to the rep (their chat with the bot)
    rep_escalation = "A prospect needs you ({reason}). They wrote: {said}. BANT: {bant}.",
    rep_booked = "New call booked for {when} with {email}. BANT: {bant}.",
    -- the runtime's own
    not_understood = "Sorry, I did not quite get that. Could you say it another way?",
    handoff = "Of course, I am passing this to my colleague now.",
    expired = "Hello again, let us pick up where we left off.",
    fallback = "Sorry, something went wrong on my side. Could you write that again?",
  },
}
