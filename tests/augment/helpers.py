"""Hand-written prepared examples (de-identified style) for the augmentation tests."""
import json
import os

TRAIN = [
    {"id": "t1", "patient_key": "p01", "task": "appointment_reminder",
     "facts": {"preferred_name": "Lucía", "language": "en", "provider_name": "Dr. Tony Shields",
               "location_name": "Eastside Urgent Care", "callback_phone": "831-555-0183",
               "appointment_date": "2024-06-14", "appointment_time": "13:15", "channel": "sms"},
     "response": "Hi Lucía, this is Eastside Urgent Care reminding you of your appointment with Dr. Tony Shields on "
                 "Friday, June 14 at 1:15 PM. Reply C to confirm or call 831-555-0183."},
    {"id": "t2", "patient_key": "p02", "task": "appointment_reminder",
     "facts": {"preferred_name": "Gerald", "language": "en", "provider_name": "Dr. Roy Dixon",
               "location_name": "Northgate Pediatrics", "callback_phone": "(587) 555-0137",
               "appointment_date": "2025-10-31", "appointment_time": "08:00", "channel": "portal"},
     "response": "Dear Gerald, your visit with Dr. Roy Dixon at Northgate Pediatrics is on 10/31/2025 at 8:00 AM. "
                 "Please arrive 15 minutes early. Questions? Call (587) 555-0137."},
    {"id": "t3", "patient_key": "p03", "task": "appointment_reminder",
     "facts": {"preferred_name": "Marisa", "language": "es", "provider_name": "Dr. Howard Pelayo",
               "location_name": "Oak Hill Pediatrics", "callback_phone": "777-555-0144",
               "appointment_date": "2026-02-18", "appointment_time": "16:45", "channel": "email"},
     "response": "Estimada Marisa, le recordamos su cita con Dr. Howard Pelayo el 18 de febrero a las 16:45 en "
                 "Oak Hill Pediatrics. Para cambiarla llame al 777-555-0144."},
    {"id": "t4", "patient_key": "p04", "task": "appointment_reminder",
     "facts": {"preferred_name": "Tracie", "language": "es", "provider_name": "Dr. Larry Mccarty",
               "location_name": "Lakeview Medical Center", "callback_phone": "704-555-0101",
               "appointment_date": "2025-02-27", "appointment_time": "09:30", "channel": "portal"},
     "response": "Hola Tracie, su cita con Dr. Larry Mccarty es el 27 de febrero a las 9:30 en Lakeview Medical "
                 "Center. Si necesita cambiarla, llame al 704-555-0101."},
    {"id": "t5", "patient_key": "p05", "task": "prescription_refill",
     "facts": {"preferred_name": "Manuel", "language": "en", "medication": "sertraline 50 mg",
               "refill_count": 5, "callback_phone": "(645) 555-0107", "channel": "sms"},
     "response": "Hi Manuel, your refill of sertraline 50 mg was sent to your pharmacy. 5 refills remain. "
                 "Questions? Call (645) 555-0107."},
    {"id": "t6", "patient_key": "p06", "task": "prescription_refill",
     "facts": {"preferred_name": "Pablo", "language": "es", "medication": "Januvia 100mg", "refill_count": 2,
               "channel": "sms"},
     "response": "Hola Pablo, su receta de Januvia 100mg fue enviada a la farmacia. Le quedan 2 resurtidos."},
    {"id": "t7", "patient_key": "p07", "task": "billing_question_reply",
     "facts": {"preferred_name": "Carmen", "language": "en", "balance_amount": "$385.45",
               "portal_link": "https://portal.example.org/pa5jsd1", "callback_phone": "(979) 555-0161",
               "channel": "portal"},
     "response": "Hi Carmen, your current balance is $385.45. You can pay at https://portal.example.org/pa5jsd1 "
                 "or call (979) 555-0161. Thank you!"},
    {"id": "t8", "patient_key": "p01", "task": "lab_results_ready",
     "facts": {"preferred_name": "Lucía", "language": "en", "portal_link": "https://portal.example.org/cds0jf2",
               "provider_name": "Dr. Tricia Gay", "collection_date": "2026-06-13", "channel": "portal"},
     "response": "Hi Lucía, your lab results from Saturday, June 13 are ready in the patient portal: "
                 "https://portal.example.org/cds0jf2. Dr. Tricia Gay will review them with you."},
]
VAL = [
    {"id": "v1", "patient_key": "p20", "task": "prescription_refill",
     "facts": {"preferred_name": "Deborah", "language": "en", "medication": "lisinopril 10mg", "refill_count": 3,
               "callback_phone": "(459) 555-0115", "channel": "sms"},
     "response": "Hi Deborah, your refill of lisinopril 10mg was sent to your pharmacy. 3 refills remain. "
                 "Questions? Call (459) 555-0115."},
]
TEST = [
    {"id": "s1", "patient_key": "p30", "task": "appointment_reminder",
     "facts": {"preferred_name": "Alvaro", "language": "en", "provider_name": "Dr. Patty Pena",
               "location_name": "Lakeview Medical Center", "callback_phone": "444-555-0140",
               "appointment_date": "2024-10-13", "appointment_time": "13:00", "channel": "sms"},
     "response": "Hi Alvaro, this is Lakeview Medical Center reminding you of your appointment with Dr. Patty Pena "
                 "on Sunday, October 13 at 1:00 PM. Reply C to confirm or call 444-555-0140."},
]


def write_prepared(workdir, train=TRAIN, val=VAL, test=TEST, augmented=None):
    data = os.path.join(workdir, "data")
    os.makedirs(data, exist_ok=True)
    for name, rows in (("train", train), ("val", val), ("test", test), ("augmented", augmented)):
        if rows is None:
            continue
        with open(os.path.join(data, f"{name}.jsonl"), "w", encoding="utf-8") as f:
            f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    with open(os.path.join(data, "prepare_report.json"), "w", encoding="utf-8") as f:
        json.dump({"records_in": 12, "kept": 10, "dropped": 2, "rejected": 0, "accounting_ok": True,
                   "patients_in_two_splits": 0, "patient_salt": "test"}, f)
    with open(os.path.join(data, "deid_manifest.json"), "w", encoding="utf-8") as f:
        json.dump({"deid_mode": "surrogate", "surrogates": {"t1": ["Lucía"], "t8": ["Lucía"]}}, f)
    return data
