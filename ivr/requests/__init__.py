"""Requests to the 2nd level: the model and its state machine, creating one from what is known
(customer, call, routing tables), and telling the technicians (phone call and e-mail)."""
