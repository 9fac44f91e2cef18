-- What the assistant says after each tool (the `message` of its result).
-- {when} is the visit's day and time, {tech} the technician, {zip} the zip.
return {
  en = {
    scheduled = "You're booked for {when} with {tech}. You'll get a confirmation shortly.",
    scheduled_urgent = "This is marked urgent: {tech} will be there {when}.",
    rescheduled = "Done, your visit is moved to {when} with {tech}.",
    cancelled = "Your visit on {when} is cancelled.",
    found = "Your next visit is {when} with {tech}.",
    available = "The earliest visit is {when}.",
    sms_scheduled = "{tenant}: your visit is booked for {when} with {tech}. Reply here or call us to change it.",
    sms_rescheduled = "{tenant}: your visit is moved to {when} with {tech}.",
    sms_cancelled = "{tenant}: your visit on {when} is cancelled.",
    not_found = "I couldn't find an appointment under that phone number or email.",
    needs_human_missing = "I need a few more details before I can book; a dispatcher will call you back to finish.",
    needs_human_no_slot = "I don't have a free visit at that time. A dispatcher will call you back to confirm a time.",
    needs_human_emergency = "We have no technician free today, so I'm passing this to our dispatcher right now; they will call you back within minutes.",
    needs_human_odoo = "I can't reach our scheduling system right now, so I haven't booked anything. A dispatcher will call you back shortly.",
    needs_human_odoo_refused = "I'm not able to book that myself. A dispatcher will call you back shortly.",
    needs_human_area = "We don't serve zip code {zip} ourselves; a dispatcher will call you back.",
    needs_human_transferred = "A dispatcher is taking this over and will call you back.",
    voice_only = "This line takes bookings through our phone assistant. Please call us on {support_phone}.",
    not_understood = "Sorry, could you say that again?",
    handoff = "A dispatcher will call you back shortly.",
    expired = "Let's start again.",
    fallback = "Sorry, something went wrong on our side. A dispatcher will call you back.",
  },
}
